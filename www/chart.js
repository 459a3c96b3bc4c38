// A small hand-drawn line chart of messages in and out per second (canvas, no library).

const COLORS = { in: "#1769e0", out: "#e0761d" };

/** Draws `history` (`[{ in, out }]`, one sample a second, oldest first, up to 60) on `canvas`. */
export function drawChart(canvas, history, slots = 60) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const pad = { left: 42, right: 8, top: 8, bottom: 18 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const peak = Math.max(1, ...history.flatMap((s) => [s.in, s.out]));
  const top = niceCeiling(peak);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#5b6878";
  g.strokeStyle = "#e3e7ee";
  g.lineWidth = 1;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + h - (h * i) / 4;
    g.beginPath();
    g.moveTo(pad.left, Math.round(y) + 0.5);
    g.lineTo(pad.left + w, Math.round(y) + 0.5);
    g.stroke();
    g.fillText(compact((top * i) / 4), pad.left - 6, y);
  }
  g.textAlign = "left";
  g.textBaseline = "alphabetic";
  g.fillText("60 s ago", pad.left, height - 4);
  g.textAlign = "right";
  g.fillText("now", pad.left + w, height - 4);
  const x = (i) => pad.left + w - ((history.length - 1 - i) * w) / (slots - 1);
  const y = (v) => pad.top + h - (v / top) * h;
  for (const key of ["out", "in"]) {
    if (history.length < 2) break;
    g.beginPath();
    history.forEach((s, i) => (i ? g.lineTo(x(i), y(s[key])) : g.moveTo(x(i), y(s[key]))));
    g.strokeStyle = COLORS[key];
    g.lineWidth = 2;
    g.lineJoin = "round";
    g.stroke();
    g.lineTo(x(history.length - 1), y(0));
    g.lineTo(x(0), y(0));
    g.closePath();
    g.fillStyle = `${COLORS[key]}18`;
    g.fill();
  }
}

function niceCeiling(v) {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= v) return step * magnitude;
  return 10 * magnitude;
}

function compact(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(1));
}
