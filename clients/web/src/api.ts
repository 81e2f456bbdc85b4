// The dashboard's one transport and its session. The access token lives in
// this module's memory only; the refresh token is an HttpOnly cookie the
// page cannot read, exchanged by hepd's /auth/ endpoints (see
// docs/dashboard.md). Every call goes through the same services, with the
// same authorization and audit, as hepctl's gRPC calls.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { fromJson, type DescService, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AuthService, RefreshTokenResponseSchema, SignInResponseSchema, type Principal, type TokenPair } from "./gen/hep/v1/auth_pb";
import { AccountService } from "./gen/hep/v1/account_pb";
import { AlertService } from "./gen/hep/v1/alert_pb";
import { AuditService } from "./gen/hep/v1/audit_pb";
import { CatalogService } from "./gen/hep/v1/catalog_pb";
import { DeviceService } from "./gen/hep/v1/device_pb";
import { ExportService } from "./gen/hep/v1/export_pb";
import { MessageService } from "./gen/hep/v1/message_pb";
import { OutcomeService } from "./gen/hep/v1/outcome_pb";
import { PatientService } from "./gen/hep/v1/patient_pb";
import { PlanService } from "./gen/hep/v1/plan_pb";
import { ReviewService } from "./gen/hep/v1/review_pb";
import { ScreeningService } from "./gen/hep/v1/screening_pb";
import { ExerciseLogService } from "./gen/hep/v1/sync_pb";

interface Session {
  token: string;
  expires: number; // ms since epoch
  principal?: Principal;
}

let session: Session | undefined;

// reauth is set by the app: it asks the user to sign in again (keeping
// whatever the page holds) and resolves once they have.
let reauth: (why: string) => Promise<void> = () => Promise.reject(new Error("not signed in"));
export function onSessionEnded(f: (why: string) => Promise<void>) {
  reauth = f;
}

export function principal(): Principal | undefined {
  return session?.principal;
}

export class SessionError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

async function post(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonValue> {
  const resp = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-HEP-Session": "1", ...headers },
    body: body === undefined ? "" : JSON.stringify(body),
  });
  const text = await resp.text();
  let json: JsonValue = {};
  try {
    json = text ? (JSON.parse(text) as JsonValue) : {};
  } catch {
    throw new SessionError("unavailable", "The server gave an unreadable answer.");
  }
  if (!resp.ok) {
    const j = json as { code?: string; message?: string };
    throw new SessionError(j.code ?? "unknown", j.message ?? `HTTP ${resp.status}`);
  }
  return json;
}

function adopt(tokens: TokenPair | undefined, p: Principal | undefined) {
  if (!tokens?.accessToken) throw new SessionError("internal", "no access token");
  session = {
    token: tokens.accessToken,
    expires: tokens.accessExpireTime ? timestampDate(tokens.accessExpireTime).getTime() : Date.now() + 60_000,
    principal: p ?? session?.principal,
  };
  scheduleRefresh();
}

let timer: number | undefined;
function scheduleRefresh() {
  clearTimeout(timer);
  if (!session) return;
  // A minute before expiry, so an idle page keeps its session alive as
  // long as the refresh token lives.
  const wait = Math.max(5_000, session.expires - Date.now() - 60_000);
  timer = window.setTimeout(() => void refresh(), wait);
}

export async function signIn(email: string, password: string): Promise<Principal | undefined> {
  const json = await post("/auth/signin", { email, password });
  const r = fromJson(SignInResponseSchema, json);
  adopt(r.tokens, r.principal);
  return r.principal;
}

let refreshing: Promise<boolean> | undefined;
// refresh exchanges the cookie for a new access token; false when the
// session is over (signed out elsewhere, revoked, expired).
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const r = fromJson(RefreshTokenResponseSchema, await post("/auth/refresh"));
      adopt(r.tokens, r.principal);
      return true;
    } catch {
      session = undefined;
      clearTimeout(timer);
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export async function signOut(): Promise<void> {
  const hdr: Record<string, string> = session ? { Authorization: `Bearer ${session.token}` } : {};
  session = undefined;
  clearTimeout(timer);
  try {
    await post("/auth/signout", undefined, hdr);
  } catch {
    // Already over: nothing left to revoke.
  }
}

async function fresh(): Promise<string> {
  if (session && session.expires - Date.now() > 30_000) return session.token;
  if (await refresh()) return session!.token;
  await reauth("Your session has ended.");
  return session!.token;
}

// authenticate adds the access token to each call; a call refused as
// unauthenticated (the session was revoked or expired) asks for a sign-in
// and is sent again, so nothing the user was doing is lost.
const authenticate: Interceptor = (next) => async (req) => {
  req.header.set("Authorization", `Bearer ${await fresh()}`);
  try {
    return await next(req);
  } catch (e) {
    if (ConnectError.from(e).code !== Code.Unauthenticated) throw e;
    session = undefined;
    if (!(await refresh())) await reauth("Your session has ended.");
    req.header.set("Authorization", `Bearer ${session!.token}`);
    return await next(req);
  }
};

const transport = createConnectTransport({
  baseUrl: window.location.origin,
  useBinaryFormat: true,
  interceptors: [authenticate],
});

function client<T extends DescService>(svc: T): Client<T> {
  return createClient(svc, transport);
}

export const api = {
  auth: client(AuthService),
  accounts: client(AccountService),
  alerts: client(AlertService),
  audit: client(AuditService),
  catalog: client(CatalogService),
  devices: client(DeviceService),
  exports: client(ExportService),
  patients: client(PatientService),
  plans: client(PlanService),
  review: client(ReviewService),
  screening: client(ScreeningService),
  logs: client(ExerciseLogService),
  outcomes: client(OutcomeService),
  messages: client(MessageService),
};

// errorText says what went wrong in words a clinician can act on; the
// server's message is shown for validation errors (it names the field).
export function errorText(e: unknown): string {
  if (e instanceof SessionError) return e.message;
  const ce = ConnectError.from(e);
  switch (ce.code) {
    case Code.NotFound:
      return "Not found: it does not exist, or it is not on your care team.";
    case Code.PermissionDenied:
      return "Your role may not do this.";
    case Code.Aborted:
      return "Someone else changed this plan since you opened it.";
    case Code.Unavailable:
      return "The server cannot be reached; try again.";
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.ResourceExhausted:
      return ce.rawMessage;
    default:
      return ce.rawMessage || "Something went wrong.";
  }
}

export function isCode(e: unknown, code: Code): boolean {
  return !(e instanceof SessionError) && ConnectError.from(e).code === code;
}
