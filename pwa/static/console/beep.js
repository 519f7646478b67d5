// The scan desks' sound (receiving, planning at the counter, closing a run): a short beep when a
// scan is taken, two low ones when it is refused. No sound files; no sound where the machine has
// none (the message on screen says it all).
let audio;

export function beep(ok) {
  try {
    audio ??= new AudioContext();
    const tones = ok ? [[880, 0]] : [[220, 0], [220, 0.22]];
    for (const [frequency, delay] of tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = frequency;
      osc.type = ok ? "sine" : "square";
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + delay);
      osc.stop(audio.currentTime + delay + 0.15);
    }
  } catch {
    // No sound on this machine.
  }
}
