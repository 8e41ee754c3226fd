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

// Ids of the messages on the page, and the highest: where a reconnect picks up
const shownIds = new Set();
let lastId = null;

// The socket lives where the page lives: same host, same path prefix, wss: under https:
function socketUrl() {
    const url = new URL(socketPath, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (lastId === null) url.searchParams.set("recent", recentCount);
    else url.searchParams.set("after", lastId);
    return url.href;
}

// Waits before reconnect attempt n: 0.5 s, 1 s, 2 s … up to 10 s, with jitter so that a
// room full of pages does not reconnect in one burst after a server restart
function backoffDelay(attempt) {
    const ceiling = Math.min(10000, 500 * 2 ** attempt);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

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

function connect() {
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    chatSocket = new WebSocket(socketUrl());

    chatSocket.onopen = () => {
        attempt = 0;
        setStatus("open", `Connected to ${roomName}`);
    };

    chatSocket.onmessage = (e) => {
        const data = JSON.parse(e.data);
        if (data.type === "error") {
            appendEntry("notice", `Not sent: ${data.error}`);
        } else if (data.type === "history") {
            data.messages.forEach(showMessage);
            // A long absence comes back in pages: ask for the next one
            if (data.more) chatSocket.send(JSON.stringify({ type: "history", after: lastId }));
        } else if (typeof data.message === "string") {
            showMessage(data);
        }
    };

    chatSocket.onclose = (e) => {
        if (e.code !== 1000 && e.code !== 1006 && e.reason) {
            appendEntry("notice", `The server closed the connection: ${e.reason}`);
        }
        const delay = backoffDelay(attempt++);
        setStatus("closed", `Disconnected; reconnecting in ${(delay / 1000).toFixed(1)} s…`);
        setTimeout(connect, delay);
    };
}

// A message arrives twice when it was saved while the socket reconnected: show it once
function showMessage(data) {
    if (Number.isInteger(data.id)) {
        if (shownIds.has(data.id)) return;
        shownIds.add(data.id);
        lastId = Math.max(lastId ?? 0, data.id);
    }
    appendEntry("message", data.message, data.time, data.author);
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
    messageInput.value = "";
}

messageInput.focus();
messageInput.addEventListener("keydown", (e) => {
    // The Enter that confirms a Japanese (IME) conversion is not "send"
    if (e.key === "Enter" && !e.isComposing && e.keyCode !== 229) sendButton.click();
});
sendButton.addEventListener("click", sendMessage);
connect();
