// The patient's message thread: oldest at the top, newest at the bottom,
// each message with who wrote it (the patient, a clinician by name, or a
// hep notice), the patient's messages the care team had not read marked
// "New"; opening the thread moves the team's read mark to its newest
// message. A compose box sends a care-team message (1-2000 characters).
// Message text is health data: it is shown, never logged.
import { api, errorText } from "./api";
import { clear, fmtTime, h, loading } from "./dom";
import { MessageSender, type Message, type MessageThread } from "./gen/hep/v1/message_pb";

export const MAX_BODY = 2000;

function senderText(m: Message): string {
  switch (m.sender) {
    case MessageSender.PATIENT:
      return "Patient";
    case MessageSender.CLINICIAN:
      return m.senderName || "Clinician";
    case MessageSender.SYSTEM:
      return "hep notice";
    default:
      return "—";
  }
}

function senderClass(m: Message): string {
  return m.sender === MessageSender.PATIENT ? "patient" : m.sender === MessageSender.SYSTEM ? "system" : "clinician";
}

// chars counts characters as the server does (code points, not UTF-16).
function chars(s: string): number {
  return [...s].length;
}

export function loadMessages(el: HTMLElement, patientId: string) {
  loading(el, "messages");
  return guardMessages(el, patientId);
}

async function guardMessages(el: HTMLElement, patientId: string, message?: HTMLElement) {
  try {
    await renderMessages(el, patientId, message);
  } catch (e) {
    clear(el, h("p", { class: "notice error", role: "alert" }, `Could not load the messages: ${errorText(e)}`));
  }
}

async function renderMessages(el: HTMLElement, patientId: string, message?: HTMLElement) {
  const r = await api.messages.listMessages({ patientId, pageSize: 100 });
  const before: MessageThread | undefined = r.thread;
  const readThrough = before?.readByTeamThrough ?? 0n;
  const unread = before?.unreadByTeam ?? 0;
  const newest = r.messages.length ? r.messages[0].threadSeq : 0n;
  const status = h("div", { role: "status", "aria-live": "polite" }, message ?? null);

  // Opening the thread reads it: the team's mark moves to the newest
  // message shown (the server never moves it back).
  if (newest > readThrough) {
    try {
      await api.messages.markMessagesRead({ patientId, readThrough: newest });
    } catch (e) {
      status.append(h("p", { class: "notice error" }, `Could not mark the thread read: ${errorText(e)}`));
    }
  }

  const oldestFirst = [...r.messages].reverse();
  const thread = oldestFirst.length
    ? h(
        "ol",
        { class: "thread", id: "thread", "aria-label": "Messages, oldest first; the newest is at the bottom" },
        oldestFirst.map((m) => {
          const isNew = m.sender === MessageSender.PATIENT && m.threadSeq > readThrough;
          return h(
            "li",
            { class: `msg ${senderClass(m)}${isNew ? " unread" : ""}`, "data-seq": String(m.threadSeq), "data-sender": senderClass(m) },
            h(
              "p",
              { class: "msg-head" },
              h("strong", { class: "sender" }, senderText(m)),
              " · ",
              h("span", { class: "meta" }, fmtTime(m.sentTime)),
              isNew ? [" ", h("span", { class: "badge" }, "New")] : null,
            ),
            h("p", { class: "msg-body" }, m.body),
          );
        }),
      )
    : h("p", null, "No messages yet.");

  const ta = h("textarea", { id: "compose", name: "body", rows: 4, "aria-describedby": "compose-count" });
  const count = h("span", { id: "compose-count", class: "hint", "aria-live": "polite" }, `0 of ${MAX_BODY} characters`);
  const send = h("button", { type: "submit", disabled: true }, "Send");
  const error = h("div", { role: "alert" });
  const update = () => {
    const n = chars(ta.value);
    const over = n > MAX_BODY;
    clear(count, over ? `${n} of ${MAX_BODY} characters: ${n - MAX_BODY} too many` : `${n} of ${MAX_BODY} characters`);
    count.classList.toggle("over", over);
    send.disabled = ta.value.trim() === "" || over;
  };
  ta.addEventListener("input", update);
  const form = h(
    "form",
    {
      class: "compose",
      "aria-label": "Write to the patient",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const body = ta.value.trim();
        if (!body || chars(body) > MAX_BODY) return;
        send.disabled = true;
        clear(error);
        try {
          await api.messages.sendMessage({ patientId, body });
          await guardMessages(el, patientId, h("p", { class: "notice ok" }, "Sent."));
          (el.querySelector("#compose") as HTMLTextAreaElement | null)?.focus();
        } catch (e) {
          // The draft stays in the box to send again.
          clear(error, h("p", { class: "notice error" }, errorText(e)));
          update();
        }
      },
    },
    h("div", { class: "field" }, h("label", { for: "compose" }, "Message to the patient"), ta, count),
    error,
    h("div", { class: "actions" }, send),
  );

  clear(
    el,
    status,
    h(
      "p",
      { class: "meta", id: "thread-summary" },
      `${r.messages.length} ${r.messages.length === 1 ? "message" : "messages"}${r.nextPageToken ? " (the newest 100)" : ""}, oldest first.`,
      unread ? ` ${unread} new from the patient since the care team last read the thread; now marked read.` : "",
      before && before.readByPatientThrough > 0n && before.lastThreadSeq > 0n
        ? ` The patient has read up to message ${before.readByPatientThrough} of ${before.lastThreadSeq}.`
        : "",
    ),
    thread,
    form,
  );
}
