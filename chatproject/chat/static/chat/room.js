// The room page: one WebSocket to the room, reopened with backoff whenever it drops.
// Every reconnect asks for the messages after the last id shown, and ids already shown are
// skipped: a dropped connection leaves no gap and shows nothing twice.
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

// Ids of the messages on the page, and the highest: where a reconnect picks up
const shownIds = new Set();
let lastId = null;

// The socket lives where the page lives: same host, same path prefix, wss: under https:
function socketUrl() {
    const url = new URL(socketPath, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (lastId === null) url.searchParams.set("recent", recentCount);
    else url.searchParams.set("after", lastId);
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

function setStatus(state, text) {
    statusLine.dataset.state = state;
    statusLine.textContent = text;
}

// Every piece of user data goes in through textContent, never innerHTML
function appendEntry(kind, text, time, author) {
    const entry = document.createElement("li");
    entry.className = kind;
    if (time) {
        const stamp = document.createElement("time");
        stamp.dateTime = time;
        stamp.textContent = new Date(time).toLocaleTimeString();
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
    chatLog.append(entry);
    chatLog.scrollTop = chatLog.scrollHeight;
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
// The last text sent: an error frame about it puts it back in the box
let lastSent = "";

function connect() {
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    chatSocket = new WebSocket(socketUrl());

    chatSocket.onopen = () => {
        healthy = setTimeout(() => {
            attempt = 0;
            retryAfter = 0;
        }, HEALTHY_MS);
        setStatus("open", `Connected to ${roomName}`);
    };

    chatSocket.onmessage = (e) => {
        const data = JSON.parse(e.data);
        if (data.type === "error" && data.code === "not_saved") {
            // The server could not save it, so no one got it; the socket stays open
            notSent(data.error);
        } else if (data.type === "error" && data.retry) {
            // The server's trouble, not ours: it closes the socket next, and we reconnect
            retryAfter = (data.retry_after ?? 0) * 1000;
            appendEntry("notice", `The chat is unavailable: ${data.error}`);
        } else if (data.type === "error" && data.code === "signed_out") {
            appendEntry("notice", data.error);
        } else if (data.type === "error") {
            notSent(data.error);
        } else if (data.type === "history") {
            data.messages.forEach(showMessage);
            // A long absence comes back in pages: ask for the next one, paced below the
            // server's limit of 5 history requests a second
            if (data.more) setTimeout(() => requestHistoryAfter(lastId, chatSocket), 250);
        } else if (data.type === "presence") {
            showPresence(data.users);
        } else if (data.type === "typing") {
            showTyping(data.author, data.seconds);
        } else if (typeof data.message === "string") {
            showMessage(data);
        }
    };

    chatSocket.onclose = (e) => {
        clearTimeout(healthy);
        if (e.code === CLOSE_SIGNED_OUT) {
            // Reconnecting would speak as whoever this browser is now: the page must say
            // who that is, so it asks for a reload instead (the error frame said why)
            setStatus("closed", "Signed out: reload the page to chat again");
            return;
        }
        if (e.code !== 1000 && e.code !== 1006 && e.reason) {
            appendEntry("notice", `The server closed the connection: ${e.reason}`);
        }
        const delay = backoffDelay(attempt++, retryAfter);
        setStatus("closed", `Disconnected; reconnecting in ${(delay / 1000).toFixed(1)} s…`);
        setTimeout(connect, delay);
    };
}

// The server refused or could not save the last text sent: say so, and give it back,
// unless something new is being typed already
function notSent(reason) {
    appendEntry("notice", `Not sent: ${reason}`);
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
    typingLine.textContent = names.length
        ? `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`
        : "";
}

function requestHistoryAfter(id, socket) {
    // A socket that closed meanwhile is replaced by one that asks with ?after= itself
    if (socket === chatSocket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "history", after: id }));
    }
}

// A message arrives twice when it was saved while the socket reconnected: show it once
function showMessage(data) {
    if (Number.isInteger(data.id)) {
        if (shownIds.has(data.id)) return;
        shownIds.add(data.id);
        lastId = Math.max(lastId ?? 0, data.id);
    }
    // Their message is what they were typing
    if (data.author) stopTyping(data.author);
    appendEntry("message", data.message, data.time, data.author);
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
        appendEntry("notice", "Not connected right now; your message is still in the box.");
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
