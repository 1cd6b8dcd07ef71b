/**
 * A download progress line on stderr for `hf:` models: redrawn in place on a terminal, one line per
 * 10% otherwise (so logs stay readable), and a final line when done.
 */
export function createDownloadProgressReporter(stream: NodeJS.WritableStream & { isTTY?: boolean }) {
  let lastDecile = -1;
  let lastFile = "";
  return ({ file, downloadedBytes, totalBytes }: { file: string; downloadedBytes: number; totalBytes: number }) => {
    if (file !== lastFile) {
      lastFile = file;
      lastDecile = -1;
    }
    const megabytes = (bytes: number) => (bytes / 1_048_576).toFixed(1);
    const fraction = totalBytes > 0 ? Math.min(1, downloadedBytes / totalBytes) : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `downloading ${file} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${megabytes(downloadedBytes)}/${totalBytes > 0 ? megabytes(totalBytes) : "?"} MB`;
    const done = totalBytes > 0 && downloadedBytes >= totalBytes;
    if (stream.isTTY) {
      stream.write(`\r${line}${done ? "\n" : ""}`);
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== lastDecile || done) {
      lastDecile = decile;
      stream.write(`${line}\n`);
    }
  };
}
