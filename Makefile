# The two commands: `make run` (the whole system with demo data) and
# `make test` (every test). Both install what is missing and start their own
# Postgres and search server unless DATABASE_URL / ELASTICSEARCH_URL are set.

SHELL := /bin/bash
RUN_DIR ?= $(CURDIR)/.run
LISTEN ?= 127.0.0.1:8080
SEED_USERS ?= 500
SEED_PROJECTS ?= 800
SEED_HACKATHONS ?= 20

export RUN_DIR

.PHONY: run test fuzz chaos bench-realtime bench-realtime-scale bench-scale bench-headofline bench-throughput bench-wait bench-changed bench-declaration bench-capture-instructions bench-import deps build build-tests services-start services-stop clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build -c release --product hacksync
	swift build -c release --product hacksync-watch

build-tests:
	@scripts/install-deps.sh --test
	swift build --build-tests

run: build
	@scripts/run.sh

test: build-tests
	@scripts/test.sh

# Every fuzz target (fuzz/) for FUZZ_SECONDS each, libFuzzer + AddressSanitizer:
# make fuzz [FUZZ_SECONDS=600] [FUZZ_TARGETS="frames inflate"]
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The seeded chaos test, long: make chaos DURATION=600 [SEED=n]
DURATION ?= 600
SEED ?=
chaos: build-tests
	@HACKSYNC_CHAOS_SECONDS=$(DURATION) HACKSYNC_CHAOS_SEED=$(SEED) RUN_DIR=$(CURDIR)/.run-chaos \
		scripts/test.sh --filter aSeededChaosRun

# 3 million documents: bulk seed, then a full reindex killed with -9 and resumed
# (bounded by the search server: ~45 min here). make bench-scale USERS=100000 PROJECTS=200000 for a short run.
USERS ?= 1000000
PROJECTS ?= 2000000
bench-scale: deps
	@scripts/bench-scale.sh $(USERS) $(PROJECTS)

# Edits while a 100,000-change backlog drains, the fresh lane on and off: make bench-headofline [ROUNDS=3]
ROUNDS ?= 3
bench-headofline: deps
	@scripts/bench-headofline.sh $(ROUNDS)

# What read-your-writes (/api/wait) adds to commit → index, write by write: make bench-wait [WRITES=200]
WRITES ?= 200
bench-wait: deps
	@scripts/bench-wait.sh $(WRITES)

# What computing `changed`/`previous` costs the sync, with and without: make bench-changed [ROUNDS=3]
bench-changed: deps
	@scripts/bench-changed.sh $(ROUNDS)

# A declaration change under load: the service reindexes 100,000 projects by itself while
# they are edited and searched: make bench-declaration [DECLARATION_PROJECTS=100000 EDITS_PER_S=5]
DECLARATION_PROJECTS ?= 100000
EDITS_PER_S ?= 5
bench-declaration: deps
	@scripts/bench-declaration.sh $(DECLARATION_PROJECTS) $(EDITS_PER_S)

# Instructions per single-row transaction, no capture / generated / hand-written (callgrind):
# make bench-capture-instructions [STATEMENTS=2000]
STATEMENTS ?= 2000
bench-capture-instructions: deps
	@scripts/capture-instructions.sh $(STATEMENTS)

# Mixed writes at rising rates against 3 million documents, the in-memory search server
# and a null one: make bench-throughput [USERS=… PROJECTS=…] (RATES, STEP, PROFILE=1: see the script)
bench-throughput: deps
	@scripts/bench-throughput.sh $(USERS) $(PROJECTS)

# 3,000,000 activity events imported from the simulator at a stated rate limit while the
# sync runs: make bench-import [EVENTS=3000000 RATE=5 PAGE=1000]
EVENTS ?= 3000000
RATE ?= 5
PAGE ?= 1000
bench-import: deps
	@scripts/bench-import.sh $(EVENTS) $(RATE) $(PAGE)

# Fan-out, idle memory and echo, HackSync side by side with a Hummingbird server
# (bench/hb-broadcast): make bench-realtime [SUBSCRIBERS=1000 IDLE=5000 REPEATS=3]
SUBSCRIBERS ?= 1000
IDLE ?= 5000
REPEATS ?= 3
bench-realtime: deps
	@scripts/bench-realtime.sh $(SUBSCRIBERS) 20 $(IDLE) $(REPEATS)

# Idle subscribers by the tens of thousands in one process (memory, CPU while idle, one event
# to all): make bench-realtime-scale [CONNECTIONS=100000] (capped by the descriptor limit)
CONNECTIONS ?= 100000
bench-realtime-scale: deps
	@scripts/bench-realtime-scale.sh $(CONNECTIONS)

services-start: deps
	@scripts/services.sh start

services-stop:
	@scripts/services.sh stop

clean: services-stop
	rm -rf .build $(RUN_DIR)
