"""Where things are, whatever the current directory (notebooks run from notebooks/)."""

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
CHATPROJECT_DIR = REPO_DIR / "chatproject"
# The project's own Redis server keeps its data, log and pid file here (git-ignored); tests
# point it elsewhere
REDIS_STATE_DIR = Path(os.environ.get("WORKBOOK_REDIS_DIR", REPO_DIR / ".redis"))
# The projects attendees build from the notebooks (git-ignored); tests point it elsewhere
WORKSPACE_DIR = Path(os.environ.get("WORKBOOK_WORKSPACE", REPO_DIR / "workspace"))
# The finished chat's messages as the notebooks' servers keep them: apart from `make chat`'s
# chatproject/db.sqlite3, so that the rooms an attendee opens there start empty
NOTEBOOK_CHAT_DATABASE = WORKSPACE_DIR / "chat.sqlite3"
