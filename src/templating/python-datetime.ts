// Python's datetime formatting, for templates written against Airflow: strftime/strptime with the
// directives DAG authors use, isoformat and str() as Python prints them, and PyDate, a Date that
// also answers `.strftime()`, `.isoformat()`, `.year` ... so `{{ logical_date.strftime('%Y') }}`
// renders as in Airflow. Context dates are UTC, as Airflow's are.

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** A wall-clock reading (in the Date's UTC fields) and its UTC offset in minutes; null offset = naive. */
export interface WallTime {
  wall: Date;
  offset: number | null;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

function offsetText(offset: number, colon: boolean): string {
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${sign}${pad(Math.floor(abs / 60))}${colon ? ":" : ""}${pad(abs % 60)}`;
}

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

/** strftime over %Y %m %d %H %M %S %j %b %B %a %A %y %I %p %f %z %Z %%; other directives stay as written. */
export function strftime(t: WallTime, format: string): string {
  const d = t.wall;
  return format.replace(/%([a-zA-Z%])/g, (whole, c: string) => {
    switch (c) {
      case "Y": return pad(d.getUTCFullYear(), 4);
      case "m": return pad(d.getUTCMonth() + 1);
      case "d": return pad(d.getUTCDate());
      case "H": return pad(d.getUTCHours());
      case "M": return pad(d.getUTCMinutes());
      case "S": return pad(d.getUTCSeconds());
      case "j": return pad(dayOfYear(d), 3);
      case "b": return MONTHS[d.getUTCMonth()]!.slice(0, 3);
      case "B": return MONTHS[d.getUTCMonth()]!;
      case "a": return DAYS[d.getUTCDay()]!.slice(0, 3);
      case "A": return DAYS[d.getUTCDay()]!;
      case "y": return pad(d.getUTCFullYear() % 100);
      case "I": return pad(d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12);
      case "p": return d.getUTCHours() < 12 ? "AM" : "PM";
      case "f": return pad(d.getUTCMilliseconds() * 1000, 6);
      case "z": return t.offset === null ? "" : offsetText(t.offset, false);
      case "Z": return t.offset === null ? "" : t.offset === 0 ? "UTC" : `UTC${offsetText(t.offset, true)}`;
      case "%": return "%";
      default: return whole;
    }
  });
}

const NAME_RE = (names: string[]): string => `(${names.join("|")})`;
const DIRECTIVES: Record<string, string> = {
  Y: "(\\d{4})", m: "(\\d{1,2})", d: "(\\d{1,2})", H: "(\\d{1,2})", M: "(\\d{1,2})", S: "(\\d{1,2})",
  j: "(\\d{1,3})", y: "(\\d{2})", I: "(\\d{1,2})", p: "(am|pm)", f: "(\\d{1,6})", z: "(Z|[+-]\\d{2}:?\\d{2})",
  Z: "(UTC|GMT)", b: NAME_RE(MONTHS.map((m) => m.slice(0, 3))), B: NAME_RE(MONTHS),
  a: NAME_RE(DAYS.map((m) => m.slice(0, 3))), A: NAME_RE(DAYS),
};

/** datetime.strptime: the whole string must match the format, else Python's ValueError text. */
export function strptime(text: string, format: string): WallTime {
  const order: string[] = [];
  let pattern = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "%" && i + 1 < format.length) {
      const c = format[++i]!;
      if (c === "%") pattern += "%";
      else if (DIRECTIVES[c]) { pattern += DIRECTIVES[c]; order.push(c); }
      else throw new Error(`'${c}' is a bad directive in format '${format}'`);
    } else if (/\s/.test(ch)) pattern += "\\s+";
    else pattern += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  const m = new RegExp(`^${pattern}$`, "i").exec(text);
  if (!m) throw new Error(`time data '${text}' does not match format '${format}'`);
  let year = 1900, month = 1, day = 1, hour = 0, minute = 0, second = 0, micro = 0, yday: number | null = null;
  let pm: boolean | null = null, offset: number | null = null;
  order.forEach((c, i) => {
    const v = m[i + 1]!;
    const lower = v.toLowerCase();
    switch (c) {
      case "Y": year = Number(v); break;
      case "y": year = Number(v) + (Number(v) < 69 ? 2000 : 1900); break;
      case "m": month = Number(v); break;
      case "d": day = Number(v); break;
      case "H": case "I": hour = Number(v); break;
      case "M": minute = Number(v); break;
      case "S": second = Number(v); break;
      case "f": micro = Number(v.padEnd(6, "0")); break;
      case "j": yday = Number(v); break;
      case "p": pm = lower === "pm"; break;
      case "b": case "B": month = MONTHS.findIndex((n) => n.toLowerCase().startsWith(lower.slice(0, 3))) + 1; break;
      case "z": offset = v.toUpperCase() === "Z" ? 0 : (v[0] === "-" ? -1 : 1) * (Number(v.slice(1, 3)) * 60 + Number(v.slice(-2))); break;
      case "Z": offset = offset ?? 0; break;
    }
  });
  if (pm !== null && order.includes("I")) hour = (hour % 12) + (pm ? 12 : 0);
  const wall = yday !== null && !order.includes("m") && !order.includes("d")
    ? new Date(Date.UTC(year, 0, yday, hour, minute, second, Math.floor(micro / 1000)))
    : new Date(Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(micro / 1000)));
  if (wall.getUTCMonth() !== month - 1 && yday === null) throw new Error(`day is out of range for month in '${text}'`);
  if (year < 100) wall.setUTCFullYear(year);
  return { wall, offset };
}

/** datetime.isoformat(): "2024-01-01T00:00:00+00:00", microseconds only when non-zero. */
export function isoformat(t: WallTime, sep = "T"): string {
  const d = t.wall;
  const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}${sep}` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const ms = d.getUTCMilliseconds();
  return `${base}${ms ? `.${pad(ms * 1000, 6)}` : ""}${t.offset === null ? "" : offsetText(t.offset, true)}`;
}

export const utc = (d: Date): WallTime => ({ wall: d, offset: 0 });

/** A UTC Date that also speaks Python's datetime API in templates; str() is Python's. */
export class PyDate extends Date {
  strftime(format: string): string { return strftime(utc(this), format); }
  isoformat(sep = "T"): string { return isoformat(utc(this), sep); }
  timestamp(): number { return this.getTime() / 1000; }
  get year(): number { return this.getUTCFullYear(); }
  get month(): number { return this.getUTCMonth() + 1; }
  get day(): number { return this.getUTCDate(); }
  get hour(): number { return this.getUTCHours(); }
  get minute(): number { return this.getUTCMinutes(); }
  get second(): number { return this.getUTCSeconds(); }
  override toString(): string { return isoformat(utc(this), " "); }
}

export function toPyDate(d: Date): PyDate {
  return d instanceof PyDate ? d : new PyDate(d.getTime());
}
