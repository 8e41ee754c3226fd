// The index page: go to the room the user names.
"use strict";

const roomInput = document.querySelector("#room-name-input");
const roomError = document.querySelector("#room-name-error");
const maxLength = JSON.parse(document.getElementById("max-room-name-length").textContent);

// The same rules as chat/rooms.py, checked here only to explain them before the 404 would
function problemWith(name) {
    if (!name.trim()) return "Type a room name first.";
    if ([...name].length > maxLength) return `A room name has at most ${maxLength} characters.`;
    if (name.includes("/")) return "A room name cannot contain “/”.";
    if (!name.replace(/\./g, "")) return "A room name needs more than dots.";
    return null;
}

function enterRoom() {
    const name = roomInput.value.normalize("NFC");
    const problem = problemWith(name);
    roomError.hidden = problem === null;
    roomError.textContent = problem ?? "";
    if (problem) return;
    // Relative to this page, so it works under any path prefix; encoded, so "?" and "#" are text
    window.location.href = new URL(encodeURIComponent(name) + "/", window.location.href).href;
}

roomInput.focus();
roomInput.addEventListener("keydown", (e) => {
    // The Enter that confirms a Japanese (IME) conversion is not "enter the room"
    if (e.key === "Enter" && !e.isComposing && e.keyCode !== 229) {
        document.querySelector("#room-name-submit").click();
    }
});
document.querySelector("#room-name-submit").addEventListener("click", enterRoom);
