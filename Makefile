# Two commands on a fresh machine: `make lab` and `make test`. Each sets up what it needs
# (idempotent: run them as often as you like) and says what it does.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
SITE_STAMP := $(VENV)/.site-installed

.PHONY: help setup messages check-env lab lab-ja test lint format chat cluster cluster-stop bench redis stop browser postgres nginx gettext cjk-font site clean

help:
	@echo "make check-env  before the workshop: is this machine ready? (one screen)"
	@echo "make lab     set up, start Redis, open JupyterLab on notebooks/"
	@echo "make lab-ja  the same in Japanese (日本語版): opens notebooks/ja/00_welcome.ipynb"
	@echo "make test    set up, then lint and run every test"
	@echo "make chat    run the finished chat at http://127.0.0.1:$(PORT)/chat/ (PORT=8001 to move it)"
	@echo "make bench   the load benchmark (BENCH_ARGS=--quick for a one-minute run)"
	@echo "make cluster the chat beyond one machine, here: nginx, 3 workers, Postgres, Sentinel"
	@echo "make cluster-stop  stop it"
	@echo "make site    the workbook as a website with its outputs, in build/site/"
	@echo "make stop    stop the Redis server the project started"
	@echo "make format  format the code with ruff"

# Reinstall only when the requirements change
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	@echo "==> Creating $(VENV) and installing requirements.txt (a few minutes the first time)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements.txt
	@$(PY) -m pip install -qq --no-deps -e .
	@touch $@

# The translations (gettext catalogs of the workbook and the chat): the .po files are kept in
# git, the .mo files gettext reads are compiled from them here (Babel, no system gettext)
CATALOGS := $(wildcard workbook/locale/*/LC_MESSAGES/*.po chatproject/locale/*/LC_MESSAGES/*.po)
$(CATALOGS:.po=.mo): %.mo: %.po $(STAMP)
	@$(PY) -m workbook compile-messages $<

setup: $(STAMP) $(CATALOGS:.po=.mo)
	@echo "==> $(VENV) is ready"

# After marking or changing a message in the code: bring the catalogs up to date with it
# (Babel for the workbook; Django's makemessages, which needs GNU gettext, for the chat),
# then translate what is new or fuzzy in the .po files
messages: setup gettext
	@mkdir -p build
	@$(VENV)/bin/pybabel extract --no-location --omit-header -o build/workbook.pot workbook
	@$(VENV)/bin/pybabel update --ignore-obsolete --no-fuzzy-matching -l ja \
		-i build/workbook.pot -d workbook/locale -D workbook
	@cd chatproject && ../$(PY) manage.py makemessages -l ja --no-location --no-obsolete \
		&& ../$(PY) manage.py makemessages -d djangojs -l ja --no-location --no-obsolete
	@# makemessages dates every catalog it writes: one whose only change is that date is put back
	@for po in chatproject/locale/ja/LC_MESSAGES/*.po workbook/locale/ja/LC_MESSAGES/*.po; do \
		git diff --quiet -I'^"POT-Creation-Date: ' -- "$$po" 2>/dev/null \
			&& git checkout --quiet -- "$$po" 2>/dev/null; true; \
	done

# Run before the workshop: one line per check, each with what to do; fails if something blocks
check-env: setup
	@PORT=$(PORT) $(PY) -m workbook check-env

# JupyterLab as workbook/lab.py starts it (the Docker image and the tests too): its settings
# come from jupyter/ in the repository. LAB_ARGS go to jupyter lab. nginx and PostgreSQL for
# notebook 08's cluster (installed when missing, where that needs no password)
lab: setup nginx postgres
	@echo "==> Making Redis available"
	@url=$$($(PY) -m workbook redis ensure) || exit 1; \
	echo "==> Opening JupyterLab on notebooks/ with REDIS_URL=$$url and the settings in jupyter/ (Ctrl-C stops it)"; \
	REDIS_URL=$$url exec $(PY) -m workbook lab $(LAB_ARGS)

# The same in Japanese: JupyterLab's interface in Japanese, opening notebooks/ja/00
lab-ja: setup nginx postgres
	@echo "==> Redis を用意します"
	@url=$$(WORKBOOK_LANGUAGE=ja $(PY) -m workbook redis ensure) || exit 1; \
	echo "==> JupyterLab を日本語で開きます: notebooks/ja/00_welcome.ipynb, REDIS_URL=$$url (Ctrl-C で終了)"; \
	REDIS_URL=$$url exec $(PY) -m workbook lab-ja $(LAB_ARGS)

browser:
	@bash scripts/ensure-chromium

# nginx, in front of the chat's workers: the tests through it (and the cluster on this machine)
nginx:
	@bash scripts/ensure-nginx

# GNU gettext, for make messages and the test that the chat's catalogs match its code
gettext:
	@bash scripts/ensure-gettext

# A font that draws Japanese, for the test of the Japanese edition's plot labels
cjk-font: setup
	@bash scripts/ensure-cjk-font

# PostgreSQL's programs, for the tests that run the chat on a throwaway server of their own
postgres:
	@bash scripts/ensure-postgres

lint: setup
	@echo "==> ruff check and ruff format --check"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

# The site shows the outputs of the notebooks' run in pytest (build/executed/), so it comes
# after it and runs no notebook again; a run narrowed with PYTEST_ARGS leaves it out
test: setup browser postgres nginx gettext cjk-font lint
	@echo "==> pytest (the tests start their own Redis, PostgreSQL and daphne processes on free ports)"
	@$(PY) -m pytest $(PYTEST_ARGS)
	@if [ -z "$(PYTEST_ARGS)" ]; then $(MAKE) --no-print-directory site; \
	else echo "==> No site with PYTEST_ARGS: make site builds it"; fi

# Sphinx and MyST-NB, for make site and make test only: make lab needs none of it
$(SITE_STAMP): requirements-site.txt $(STAMP)
	@echo "==> Installing requirements-site.txt (Sphinx, MyST-NB)"
	@$(PY) -m pip install --quiet -r requirements-site.txt
	@touch $@

# Notebooks without a current executed copy from the tests are run first (a few minutes)
site: $(SITE_STAMP)
	@$(PY) -m book.build

format: setup
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

# Redis if there is one, the tables, the link (through Jupyter's proxy in a Docker or Binder
# terminal), then daphne in the foreground: the workbook starts it as notebooks do
chat: setup
	@exec $(PY) -m workbook chat $(PORT)

# Real daphne processes, a Redis of its own and up to 1,000 clients, all on 127.0.0.1
bench: setup
	@echo "==> Load benchmark: results in benchmarks/results/ (Ctrl-C stops it and its servers)"
	@$(PY) -m benchmarks $(BENCH_ARGS)

# The chat beyond one machine, on this one: nginx, three daphne workers, PostgreSQL and
# Redis with Sentinel, each on a loopback address of its own; in the background until
# make cluster-stop (workbook/cluster.py)
cluster: setup nginx postgres
	@$(PY) -m workbook cluster up

cluster-stop: setup
	@$(PY) -m workbook cluster down

redis: setup
	@$(PY) -m workbook redis ensure

stop: setup
	@$(PY) -m workbook redis stop

clean: stop
	rm -rf $(VENV) .redis .pytest_cache .ruff_cache build
