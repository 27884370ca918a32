// Capture processor for spoken practice: passes the microphone's samples to the page in blocks.
class SpeechCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(4096);
    this.used = 0;
  }
  process(inputs) {
    var channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (var i = 0; i < channel.length; i++) {
        this.block[this.used++] = channel[i];
        if (this.used === this.block.length) {
          this.port.postMessage(this.block);
          this.block = new Float32Array(4096);
          this.used = 0;
        }
      }
    }
    return true;
  }
}
registerProcessor("speech-capture", SpeechCapture);
