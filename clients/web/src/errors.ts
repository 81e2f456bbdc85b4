// The server's error details (google.rpc.ErrorInfo's reason, BadRequest's
// field violations) read from a ConnectError. googleapis' protos are not
// generated here, so the two tiny messages are decoded field by field.
import { ConnectError } from "@connectrpc/connect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

function incoming(e: unknown, type: string): Uint8Array[] {
  if (!(e instanceof ConnectError) && !(e instanceof Error)) return [];
  const ce = ConnectError.from(e);
  const out: Uint8Array[] = [];
  for (const d of ce.details) {
    if ("type" in d && d.type === type && d.value instanceof Uint8Array) out.push(d.value);
  }
  return out;
}

// strings reads the string fields of one message: field number -> values.
function strings(b: Uint8Array): Map<number, (string | Uint8Array)[]> {
  const r = new BinaryReader(b);
  const m = new Map<number, (string | Uint8Array)[]>();
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt !== WireType.LengthDelimited) {
      r.skip(wt);
      continue;
    }
    const v = r.bytes();
    const list = m.get(no) ?? [];
    list.push(v);
    m.set(no, list);
  }
  return m;
}

const text = new TextDecoder();

// reason is the ErrorInfo reason ("ALERT_CHANGED", "GATE_BLOCKED"), or "".
export function reason(e: unknown): string {
  for (const v of incoming(e, "google.rpc.ErrorInfo")) {
    const f = strings(v).get(1)?.[0];
    if (f instanceof Uint8Array) return text.decode(f);
  }
  return "";
}

export interface Violation {
  field: string;
  description: string;
}

// violations are BadRequest's field violations (field 1, each with field
// 1 = field and 2 = description).
export function violations(e: unknown): Violation[] {
  const out: Violation[] = [];
  for (const v of incoming(e, "google.rpc.BadRequest")) {
    for (const fv of strings(v).get(1) ?? []) {
      if (!(fv instanceof Uint8Array)) continue;
      const m = strings(fv);
      const f = m.get(1)?.[0];
      const d = m.get(2)?.[0];
      out.push({
        field: f instanceof Uint8Array ? text.decode(f) : "",
        description: d instanceof Uint8Array ? text.decode(d) : "",
      });
    }
  }
  return out;
}
