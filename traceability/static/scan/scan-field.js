// The scan field: keyboard-wedge scanners, the camera (zxing-wasm, served by this app)
// and a photo decoded on the server. Every route ends in the same text box, and the
// server parses what is in it (traceability.scanning), so nothing here interprets GS1.

// Shown instead of the invisible ASCII 29; the server reads it as the separator.
const GS_SYMBOL = "\u241d";
const GS = "\x1d";
const CAMERA_FORMATS = ["DataMatrix", "QRCode", "Code128", "DataBarExpanded", "EAN13"];
const SEPARATOR_KEY = "scan-field:separator";

function insertAtCursor(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.setRangeText(text, start, end, "end");
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

// Wedges that cannot type ASCII 29 send it as Ctrl+] (its control-key spelling).
function isGroupSeparatorKey(event) {
  if (event.key === GS) return true;
  return event.ctrlKey && !event.altKey && (event.key === "]" || event.code === "BracketRight");
}

function showGroupSeparators(input) {
  if (!input.value.includes(GS)) return;
  const caret = input.selectionStart;
  input.value = input.value.replaceAll(GS, GS_SYMBOL);
  input.setSelectionRange(caret, caret);
}

function say(field, message, isError = false) {
  const status = field.querySelector("[data-scan-status]");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

// A code read by the camera or in a photo: a multi-line box collects them one per line,
// a single-line box takes it and, if asked, submits its form.
function deliver(field, input, code) {
  const text = code.replaceAll(GS, GS_SYMBOL);
  if (input.tagName === "TEXTAREA") {
    const lines = input.value.split("\n").filter((line) => line.trim());
    if (lines.includes(text)) return false;
    input.value = [...lines, text].join("\n") + "\n";
  } else {
    input.value = text;
  }
  input.dispatchEvent(new Event("input", { bubbles: true }));
  if (input.tagName !== "TEXTAREA" && field.hasAttribute("data-submit-on-scan")) {
    input.form.requestSubmit();
  }
  return true;
}

let readerModule = null;

async function reader(field) {
  if (!readerModule) {
    readerModule = await import(field.dataset.zxingModule);
    const wasm = field.dataset.zxingWasm;
    readerModule.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
    });
  }
  return readerModule;
}

async function scanWithCamera(field, input, button) {
  const video = field.querySelector("[data-scan-video]");
  if (video.srcObject) return stopCamera(field, button);
  let stream;
  try {
    const { readBarcodes } = await reader(field);
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment" },
      audio: false,
    });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    button.textContent = "Stop camera";
    say(field, "Hold the code in front of the camera.");
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    let read = 0;
    while (video.srcObject === stream) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      if (canvas.width && canvas.height) {
        context.drawImage(video, 0, 0);
        const frame = context.getImageData(0, 0, canvas.width, canvas.height);
        const results = await readBarcodes(frame, {
          formats: CAMERA_FORMATS,
          tryHarder: true,
          textMode: "Plain",
          maxNumberOfSymbols: 4,
        });
        for (const result of results.filter((r) => r.isValid)) {
          if (deliver(field, input, result.symbologyIdentifier + result.text)) {
            read += 1;
            say(field, `Read ${read} code${read === 1 ? "" : "s"} (${result.format}).`);
          }
          if (input.tagName !== "TEXTAREA") return stopCamera(field, button);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
  } catch (error) {
    stopCamera(field, button);
    const denied = error && error.name === "NotAllowedError";
    say(field, denied ? "The camera was not allowed. Type or upload a photo instead."
      : `The camera cannot scan here: ${error.message || error}`, true);
  }
}

function stopCamera(field, button) {
  const video = field.querySelector("[data-scan-video]");
  if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  video.hidden = true;
  button.textContent = "Scan with camera";
}

async function decodePhoto(field, input, file) {
  const body = new FormData();
  body.append("image", file);
  const separator = field.querySelector("[data-scan-separator]");
  if (separator && separator.value) body.append("separator", separator.value);
  const token = input.form.querySelector("input[name=csrfmiddlewaretoken]");
  const cookie = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  say(field, "Reading the photo…");
  try {
    const response = await fetch(field.dataset.decodeUrl, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": token ? token.value : cookie ? cookie[1] : "",
        Accept: "application/json",
      },
    });
    const answer = await response.json();
    if (!response.ok) return say(field, answer.error, true);
    const fresh = answer.codes.filter((code) => deliver(field, input, code.raw));
    say(field, `Found ${answer.codes.length} code${answer.codes.length === 1 ? "" : "s"} in the photo.`);
    if (!fresh.length && input.tagName === "TEXTAREA") say(field, "Those codes are already in the list.");
  } catch (error) {
    say(field, `The photo could not be sent: ${error.message || error}`, true);
  }
}

function rememberSeparator(field) {
  const separator = field.querySelector("[data-scan-separator]");
  if (!separator) return;
  if (!separator.value) separator.value = localStorage.getItem(SEPARATOR_KEY) || "";
  separator.addEventListener("change", () => {
    localStorage.setItem(SEPARATOR_KEY, separator.value);
  });
}

function setUp(field) {
  const input = field.querySelector("input[data-scan-input], textarea[data-scan-input]");
  input.addEventListener("keydown", (event) => {
    if (!isGroupSeparatorKey(event)) return;
    event.preventDefault();
    insertAtCursor(input, GS_SYMBOL);
  });
  input.addEventListener("input", () => showGroupSeparators(input));

  const camera = field.querySelector("[data-scan-camera]");
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    camera.hidden = false;
    camera.addEventListener("click", () => scanWithCamera(field, input, camera));
  }
  const photo = field.querySelector("[data-scan-photo]");
  photo.addEventListener("change", () => {
    if (photo.files.length) decodePhoto(field, input, photo.files[0]);
    photo.value = "";
  });
  field.querySelector("[data-scan-tools]").hidden = false;
  rememberSeparator(field);
  field.dataset.scanReady = "true";
}

document.querySelectorAll("[data-scan-field]").forEach(setUp);
