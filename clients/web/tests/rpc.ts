// rpc.ts calls hepd from Node the way any Connect client does (JSON over
// HTTP POST), for seeding and for reading what the page should show.
import { randomBytes } from "node:crypto";

export class RpcError extends Error {
  constructor(readonly code: string, message: string, readonly reason: string) {
    super(`${code}: ${message}`);
  }
}

export async function rpc<T = any>(base: string, method: string, body: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Connect-Protocol-Version": "1" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(`${base}/hep.v1.${method}`, { method: "POST", headers, body: JSON.stringify(body) });
  const json = (await resp.json().catch(() => ({}))) as any;
  if (!resp.ok) {
    const reason = (json.details ?? []).map((d: any) => d.debug?.reason).find(Boolean) ?? "";
    // The message may name a field, never a payload: safe to show.
    throw new RpcError(json.code ?? String(resp.status), json.message ?? "", reason);
  }
  return json as T;
}

// uuidv7 is a client-made record id, as a phone makes them.
export function uuidv7(): string {
  const b = randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = b.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// A phone: an enrolled device that pushes mutations numbered 1, 2, 3...
export class Phone {
  seq = 0;
  constructor(readonly base: string, readonly deviceId: string, readonly token: string) {}

  static async enroll(base: string, clinicianToken: string, patientId: string): Promise<Phone> {
    const code = await rpc(base, "DeviceService/CreateEnrollmentCode", { patientId }, clinicianToken);
    const e = await rpc(base, "AuthService/EnrollDevice", { enrollmentCode: code.code, deviceName: "test phone", platform: "PLATFORM_ANDROID" });
    return new Phone(base, e.deviceId, e.tokens.accessToken);
  }

  async push(...changes: Record<string, unknown>[]) {
    const mutations = changes.map((c) => ({ sequence: String(++this.seq), ...c }));
    const r = await rpc(this.base, "SyncService/Push", { deviceId: this.deviceId, deviceTime: new Date().toISOString(), mutations }, this.token);
    for (const m of r.results ?? []) {
      if (m.status !== "MUTATION_STATUS_APPLIED") throw new Error(`mutation ${m.sequence} ${m.status}: ${m.reason} ${m.field}`);
    }
    return r;
  }

  checkin(at: Date, score: number, location = "PAIN_LOCATION_LOW_BACK") {
    return { checkin: { id: uuidv7(), recordTime: at.toISOString(), score, location } };
  }
}
