// The room page: one WebSocket to the room, reopened with backoff whenever it drops.
// Every message has a seq, 1, 2, 3 … in its room. A live message whose seq jumps makes the
// page ask for exactly the missing ones on the open socket; every reconnect asks for the
// messages after the last seq it has all of, and seqs already shown are skipped: nothing
// goes missing and nothing shows twice.
//
// Every text the page shows goes through gettext() (the JavaScript catalog the page loads
// first, /jsi18n/, in the page's language); user data never does.
"use strict";

const roomName = JSON.parse(document.getElementById("room-name").textContent);
const socketPath = JSON.parse(document.getElementById("socket-path").textContent);
const recentCount = JSON.parse(document.getElementById("recent-count").textContent);

const chatLog = document.querySelector("#chat-log");
const statusLine = document.querySelector("#chat-status");
const messageInput = document.querySelector("#chat-message-input");
const sendButton = document.querySelector("#chat-message-submit");
const presenceList = document.querySelector("#chat-presence");
const typingLine = document.querySelector("#chat-typing");

// Seqs of the messages on the page; the page has every seq up to completeSeq (null until
// the first history frame says where the page starts), and none above highestSeq
const shownSeqs = new Set();
let completeSeq = null;
let highestSeq = 0;

// The socket lives where the page lives: same host, same path prefix, wss: under https:
function socketUrl() {
    const url = new URL(socketPath, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (completeSeq === null) url.searchParams.set("recent", recentCount);
    else url.searchParams.set("after_seq", completeSeq);
    // Also hear who is here and who is typing
    url.searchParams.set("presence", "1");
    return url.href;
}

// Waits before reconnect attempt n: 0.5 s, 1 s, 2 s … up to 10 s, with jitter so that a
// room full of pages does not reconnect in one burst after a server restart; never less
// than the server asked for (retry_after, in ms here)
function backoffDelay(attempt, retryAfter) {
    const ceiling = Math.min(10000, 1000 * 2 ** attempt);
    return Math.max(retryAfter, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
}

// A socket the server accepts and then closes (Redis is away, say) is not a recovery: the
// backoff starts again only after a connection stayed open this long
const HEALTHY_MS = 10000;

// The text of each error code, in the page's language (codes: chat/frames.py ERROR_CODES).
// Marked here, looked up when shown. Where the catalog has no text for a code, which is so
// on an English page, the page shows the server's own words: English, and they also name
// the limit or the failure.
const ERROR_TEXTS = {
    bad_frame: gettext_noop("the chat could not read what this page sent"),
    too_big: gettext_noop("the message was too big to read, so the connection was closed"),
    rate_limited: gettext_noop("too many messages in a short time; send this one again later"),
    history_limited: gettext_noop("too many history requests; wait a moment"),
    unavailable: gettext_noop(
        "the chat lost its connection to Redis, so this room cannot be reached right now; reconnecting (nothing you sent before this is lost)",
    ),
    fell_behind: gettext_noop(
        "this connection fell behind the room; reconnect to catch up from history",
    ),
    not_saved: gettext_noop("your message was not saved, so no one got it; send it again"),
    signed_out: gettext_noop(
        "this account signed out or changed its password; reload the page to chat again",
    ),
    client_cap: gettext_noop("too many connections from your address; close one and reconnect"),
};

function errorText(frame) {
    const text = ERROR_TEXTS[frame.code];
    if (text === undefined || gettext(text) === text) return frame.error;
    return gettext(text);
}

// interpolate() with named fields: "%(room)s" in a text takes fields.room
function format(text, fields) {
    return interpolate(text, fields, true);
}

function setStatus(state, text) {
    statusLine.dataset.state = state;
    statusLine.textContent = text;
}

// Every piece of user data goes in through textContent, never innerHTML
function appendEntry(kind, text, time, author, seq) {
    const entry = document.createElement("li");
    entry.className = kind;
    if (seq !== undefined) entry.dataset.seq = seq;
    if (time) {
        const stamp = document.createElement("time");
        stamp.dateTime = time;
        // The time as the page's language writes it, not the browser's
        stamp.textContent = new Date(time).toLocaleTimeString(document.documentElement.lang);
        entry.append(stamp);
    }
    if (author) {
        const name = document.createElement("span");
        name.className = "author";
        name.textContent = author;
        entry.append(name);
    }
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    entry.append(body);
    // A missing message fetched late goes before the later ones already shown
    chatLog.insertBefore(entry, seq === undefined ? null : firstEntryAfter(seq));
    chatLog.scrollTop = chatLog.scrollHeight;
}

function firstEntryAfter(seq) {
    const entries = Array.from(chatLog.querySelectorAll("li[data-seq]"));
    return entries.find((entry) => Number(entry.dataset.seq) > seq) ?? null;
}

// The tutorial's #chat-log was a <textarea>; its tests read .value, so it still answers
Object.defineProperty(chatLog, "value", {
    get: () =>
        Array.from(chatLog.querySelectorAll("li.message .text"), (el) => el.textContent + "\n").join(""),
});

let chatSocket = null;
let attempt = 0;
let healthy = null;
// What the server's last retry frame asked for: wait at least this long (ms)
let retryAfter = 0;
// The close code after a log-out or password change (chat/frames.py CLOSE_SIGNED_OUT)
const CLOSE_SIGNED_OUT = 4401;
// The close code of a worker that is stopping, a rolling restart (chat/frames.py
// CLOSE_SERVICE_RESTART): another worker takes the page at once
const CLOSE_SERVICE_RESTART = 1012;
// Longest wait before reconnecting after CLOSE_SERVICE_RESTART: each page picks its own
// moment, so a room does not arrive at the next worker in one burst
const RESTART_SPREAD_MS = 1000;
// The last text sent: an error frame about it puts it back in the box
let lastSent = "";

function connect() {
    setStatus("connecting", chatSocket ? gettext("Reconnecting…") : gettext("Connecting…"));
    chatSocket = new WebSocket(socketUrl());

    chatSocket.onopen = () => {
        healthy = setTimeout(() => {
            attempt = 0;
            retryAfter = 0;
        }, HEALTHY_MS);
        setStatus("open", format(gettext("Connected to %(room)s"), { room: roomName }));
    };

    chatSocket.onmessage = (e) => {
        const data = JSON.parse(e.data);
        if (data.type === "error" && data.code === "history_limited") {
            // A history request came too soon: ask again for all the page still lacks, when
            // the server says a page may be asked for again
            const wait = Math.max(data.retry_after ?? 1, 0.25) * 1000;
            setTimeout(() => requestHistory({ after_seq: completeSeq }, chatSocket), wait);
        } else if (data.type === "error" && data.code === "not_saved") {
            // The server could not save it, so no one got it; the socket stays open
            notSent(errorText(data));
        } else if (data.type === "error" && data.retry) {
            // The server's trouble, not ours: it closes the socket next, and we reconnect
            retryAfter = (data.retry_after ?? 0) * 1000;
            const text = gettext("The chat is unavailable: %(reason)s");
            appendEntry("notice", format(text, { reason: errorText(data) }));
        } else if (data.type === "error" && ["signed_out", "client_cap"].includes(data.code)) {
            // About this connection, not a message: say so (the close that follows decides
            // whether the page reconnects)
            appendEntry("notice", errorText(data));
        } else if (data.type === "error") {
            notSent(errorText(data));
        } else if (data.type === "history") {
            showHistory(data.messages);
            // A long absence comes back in pages: ask for the next one, paced below the
            // server's limit of 5 history requests a second
            if (data.more) setTimeout(() => requestHistory(nextPageAfter(data), chatSocket), 250);
        } else if (data.type === "presence") {
            showPresence(data.users);
        } else if (data.type === "typing") {
            showTyping(data.author, data.seconds);
        } else if (typeof data.message === "string") {
            askForMissedBefore(data.seq);
            showMessage(data);
        }
    };

    chatSocket.onclose = (e) => {
        clearTimeout(healthy);
        if (e.code === CLOSE_SIGNED_OUT) {
            // Reconnecting would speak as whoever this browser is now: the page must say
            // who that is, so it asks for a reload instead (the error frame said why)
            setStatus("closed", gettext("Signed out: reload the page to chat again"));
            return;
        }
        if (e.code === CLOSE_SERVICE_RESTART) {
            // Not a failure: no notice and no backoff. The reconnect asks with ?after_seq=
            // for whatever the room said meanwhile
            setStatus("connecting", gettext("Reconnecting…"));
            setTimeout(connect, Math.random() * RESTART_SPREAD_MS);
            return;
        }
        if (e.code !== 1000 && e.code !== 1006 && e.reason) {
            const text = gettext("The server closed the connection: %(reason)s");
            appendEntry("notice", format(text, { reason: e.reason }));
        }
        const delay = backoffDelay(attempt++, retryAfter);
        const text = gettext("Disconnected; reconnecting in %(seconds)s s…");
        setStatus("closed", format(text, { seconds: (delay / 1000).toFixed(1) }));
        setTimeout(connect, delay);
    };
}

// The server refused or could not save the last text sent: say so, and give it back,
// unless something new is being typed already
function notSent(reason) {
    appendEntry("notice", format(gettext("Not sent: %(reason)s"), { reason }));
    if (!messageInput.value) messageInput.value = lastSent;
}

function showPresence(names) {
    presenceList.replaceChildren(
        ...names.map((name) => {
            const item = document.createElement("li");
            item.textContent = name;
            return item;
        }),
    );
}

// Who is typing, each until their notice runs out (a new notice restarts their clock)
const typists = new Map();

function showTyping(author, seconds) {
    clearTimeout(typists.get(author));
    typists.set(author, setTimeout(() => stopTyping(author), seconds * 1000));
    renderTyping();
}

function stopTyping(author) {
    clearTimeout(typists.get(author));
    typists.delete(author);
    renderTyping();
}

function renderTyping() {
    const names = Array.from(typists.keys());
    if (!names.length) {
        typingLine.textContent = "";
        return;
    }
    const typing = ngettext("%(names)s is typing…", "%(names)s are typing…", names.length);
    // The names as the page's language lists them: "alice and bob", "alice、bob"
    const list = new Intl.ListFormat(document.documentElement.lang).format(names);
    typingLine.textContent = format(typing, { names: list });
}

function requestHistory(range, socket) {
    // A socket that closed meanwhile is replaced by one that asks with ?after_seq= itself
    if (socket === chatSocket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "history", ...range }));
    }
}

// A live message past highestSeq + 1 means the ones in between were lost on their way:
// ask for exactly those, now, on this socket
function askForMissedBefore(seq) {
    if (completeSeq === null || !Number.isInteger(seq) || seq <= highestSeq + 1) return;
    requestHistory({ after_seq: highestSeq, before_seq: seq }, chatSocket);
}

// The next page of the same range: up to the first message shown after this page
function nextPageAfter(frame) {
    const after = frame.messages.at(-1).seq;
    const later = Array.from(shownSeqs).filter((seq) => seq > after);
    if (!later.length) return { after_seq: after };
    return { after_seq: after, before_seq: Math.min(...later) };
}

function showHistory(messages) {
    // The first history frame says where the page starts: just before its oldest message
    if (completeSeq === null) completeSeq = messages.length ? messages[0].seq - 1 : 0;
    messages.forEach(showMessage);
    advanceCompleteSeq();
}

function advanceCompleteSeq() {
    while (completeSeq !== null && shownSeqs.has(completeSeq + 1)) completeSeq++;
}

// A message arrives twice when it was saved while the socket reconnected, or was asked
// for while it was on its way: show it once
function showMessage(data) {
    if (Number.isInteger(data.seq)) {
        if (shownSeqs.has(data.seq)) return;
        shownSeqs.add(data.seq);
        highestSeq = Math.max(highestSeq, data.seq);
        advanceCompleteSeq();
    }
    // Their message is what they were typing
    if (data.author) stopTyping(data.author);
    appendEntry("message", data.message, data.time, data.author, data.seq);
}

// The server passes on one notice per interval anyway; the page need not send more
let lastTypingSent = 0;

function sendTyping() {
    const now = Date.now();
    if (now - lastTypingSent < 1000 || !chatSocket || chatSocket.readyState !== WebSocket.OPEN) {
        return;
    }
    lastTypingSent = now;
    chatSocket.send(JSON.stringify({ type: "typing" }));
}

function sendMessage() {
    const message = messageInput.value;
    if (!message.trim()) return;
    if (!chatSocket || chatSocket.readyState !== WebSocket.OPEN) {
        // Keep the text in the box so nothing typed is lost while offline
        const text = gettext("Not connected right now; your message is still in the box.");
        appendEntry("notice", text);
        return;
    }
    chatSocket.send(JSON.stringify({ message }));
    lastSent = message;
    messageInput.value = "";
}

messageInput.focus();
messageInput.addEventListener("keydown", (e) => {
    // The Enter that confirms a Japanese (IME) conversion is not "send"
    if (e.key === "Enter" && !e.isComposing && e.keyCode !== 229) sendButton.click();
});
messageInput.addEventListener("input", sendTyping);
sendButton.addEventListener("click", sendMessage);
connect();
