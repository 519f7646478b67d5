// The counter's first page: the envelope's label read by the camera goes where a scanner types it.
import { cameraButton } from "./counter-camera.js";

const form = document.querySelector("[data-testid=counter-scan-form]");
cameraButton(document.getElementById("camera-envelope"), document.querySelector("[data-testid=counter-camera]"), (text) => {
  form.elements.scan.value = text;
  form.requestSubmit();
});
