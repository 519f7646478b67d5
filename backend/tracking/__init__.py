"""The citizen's side: following an envelope through a tracking link."""
