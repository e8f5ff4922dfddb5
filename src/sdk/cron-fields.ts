// Range checks of a 5-field cron expression's numbers, before croner sees it: croner's message
// names the limit instead of the value ("Invalid value for month: 12" for a 13), while the user
// needs the field and what they wrote. Airflow (croniter) says "[0 0 1 13 0] is not acceptable,
// out of range"; orch says that and which field.

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

/** What is out of range in a 5-field expression, in words, or null when every number fits.
 *  Names (JAN, MON), L, W and # are left to croner. */
export function cronRangeProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return null;
  for (let i = 0; i < 5; i++) {
    const spec = FIELDS[i]!;
    for (const part of fields[i]!.split(",")) {
      const [base = "", step] = part.split("/");
      if (step !== undefined && /^\d+$/.test(step) && Number(step) === 0) {
        return `the ${spec.name} field "${fields[i]}" has a step of 0 ([${fields.join(" ")}] is not acceptable)`;
      }
      for (const token of base.split("-")) {
        const n = token.split("#")[0]!;
        if (!/^\d+$/.test(n)) continue;
        const v = Number(n);
        if (v < spec.min || v > spec.max) {
          return `the ${spec.name} field "${fields[i]}" holds ${v}, outside ${spec.min}-${spec.max} ([${fields.join(" ")}] is not acceptable, out of range)`;
        }
      }
    }
  }
  return null;
}
