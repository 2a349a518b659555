/** Redis-format log lines: `<pid>:<role> <dd Mon yyyy hh:mm:ss.mmm> <level char> <message>`. */

/** Log levels in Redis's order; a line is written when its level is at least the configured one. */
export type LogLevel = "debug" | "verbose" | "notice" | "warning" | "nothing";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3, nothing: 4 };
const LEVEL_CHAR: Record<LogLevel, string> = { debug: ".", verbose: "-", notice: "*", warning: "#", nothing: "" };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Formats a timestamp as Redis does in log lines (local time, milliseconds). */
export function formatLogTime(date: Date): string {
  return `${pad(date.getDate())} ${MONTHS[date.getMonth()]} ${date.getFullYear()} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** The process-wide logger; `level`, `file` and `role` follow the config. */
export class Logger {
  level: LogLevel = "notice";
  /** Empty string means standard output, as in Redis. */
  file = "";
  /** `C` before the config is loaded, then `M` (master) or `S` (replica). */
  role = "C";
  private readonly encoder = new TextEncoder();

  /** Writes one line if `level` passes the configured threshold. */
  log(level: LogLevel, message: string): void {
    if (LEVEL_RANK[level] < LEVEL_RANK[this.level]) return;
    this.raw(`${Deno.pid}:${this.role} ${formatLogTime(new Date())} ${LEVEL_CHAR[level]} ${message}\n`);
  }

  /** Writes text as is (the start-up banner). */
  raw(text: string): void {
    const bytes = this.encoder.encode(text);
    if (this.file === "") {
      Deno.stdout.writeSync(bytes);
      return;
    }
    try {
      Deno.writeFileSync(this.file, bytes, { append: true });
    } catch {
      // Redis also keeps running when the log file cannot be written.
    }
  }

  debug(message: string): void {
    this.log("debug", message);
  }
  verbose(message: string): void {
    this.log("verbose", message);
  }
  notice(message: string): void {
    this.log("notice", message);
  }
  warning(message: string): void {
    this.log("warning", message);
  }
}

/** The single logger of this process. */
export const logger = new Logger();
