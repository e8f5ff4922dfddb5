// Airflow's ReadyToRescheduleDep (ti_deps/deps/ready_to_reschedule.py): a sensor in reschedule mode
// (state up_for_reschedule) runs its next poke only once its reschedule date has passed.
import type { DepStatus } from "./types.ts";

export function readyToReschedule({ state, rescheduleAt, now }: { state: string | null; rescheduleAt: Date | null; now: Date }): DepStatus {
  const dep = "Ready To Reschedule";
  if (state !== "up_for_reschedule") return { dep, passed: true, reason: "The task instance is not in State_UP_FOR_RESCHEDULE or NONE state." };
  if (rescheduleAt !== null && rescheduleAt.getTime() > now.getTime()) {
    return { dep, passed: false, reason: `Task is not ready for reschedule yet but will be rescheduled automatically. Current date is ${now.toISOString()} and task will be rescheduled at ${rescheduleAt.toISOString()}.` };
  }
  return { dep, passed: true, reason: "Task instance id ready for reschedule." };
}
