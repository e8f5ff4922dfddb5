// Human text for a cron expression, in the words of cron_descriptor (which Airflow shows in its UI:
// "At 00:00", "At 00:00, only on Sunday"). Covers the common shapes; anything else is described by
// its own expression rather than by a guess.

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];

const pad = (n: string): string => n.padStart(2, "0");
const isNum = (s: string): boolean => /^\d+$/.test(s);

function timePart(minute: string, hour: string): string | null {
  if (isNum(minute) && isNum(hour)) return `At ${pad(hour)}:${pad(minute)}`;
  if (minute === "*" && hour === "*") return "Every minute";
  const everyMin = /^\*\/(\d+)$/.exec(minute);
  if (everyMin && hour === "*") return `Every ${everyMin[1]} minutes`;
  if (minute === "0" && hour === "*") return "Every hour";
  if (isNum(minute) && hour === "*") return `At ${minute} minutes past the hour`;
  const everyHour = /^\*\/(\d+)$/.exec(hour);
  if (isNum(minute) && everyHour) return `At ${minute} minutes past the hour, every ${everyHour[1]} hours`;
  return null;
}

function dayPart(dom: string, month: string, dow: string): string | null {
  let text = "";
  if (dom !== "*") {
    if (!isNum(dom)) return null;
    text += `, on day ${dom} of the month`;
  }
  if (dow !== "*") {
    const day = isNum(dow) ? DAYS[Number(dow)] : undefined;
    if (!day) return null;
    text += dom !== "*" ? ` (or) only on ${day}` : `, only on ${day}`;
  }
  if (month !== "*") {
    const every = /^\*\/(\d+)$/.exec(month);
    if (every) text += `, every ${every[1]} months`;
    else if (isNum(month) && MONTHS[Number(month)]) text += `, only in ${MONTHS[Number(month)]}`;
    else return null;
  }
  return text;
}

export function describeCron(expression: string): string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return expression;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const time = timePart(minute, hour);
  const days = dayPart(dom, month, dow);
  return time !== null && days !== null ? time + days : expression;
}
