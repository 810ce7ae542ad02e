#!/usr/bin/env bash
# Start `make run` with no services, wait for /healthz, place simulated calls with `make call`
# (which must find make run's port by itself), then stop it as Ctrl-C does: everything must
# be gone in under 5 s, with no traceback and the LOCAL MODE warning said once.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${SMOKE_PORT:-5077}
instance=$(mktemp -d)
log="$instance/run.log"
env -u DATABASE_URL -u REDIS_URL PORT=$port FAKE_TWILIO_PORT=$((port + 1)) INSTANCE_PATH="$instance" \
  setsid make run >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM -- -"$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$instance"; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/healthz"; echo
grep -q "Voice survey is starting on http://127.0.0.1:$port" "$log"
# `make call` is given no port: it follows the running make run (instance/run.json).
call() { env -u PORT -u DATABASE_URL -u REDIS_URL -u TWILIO_API_BASE_URL INSTANCE_PATH="$instance" make -s call ARGS="$*"; }
# A whole survey through the running app and its fake Twilio.
call --script "9#,4,1,2,2" | tee "$instance/call.log"
grep -q "Goodbye" "$instance/call.log"
# An anxious recorded comment: the worker downloads, transcribes and reads it, and an
# urgent callback task shows up in the API.
call --from +14155550199 --script "3#,2,2,1,record:tests/fixtures/audio/anxious.wav,2" >/dev/null
urgent=""
for _ in $(seq 1 90); do
  if curl -fsS -H "Authorization: Bearer dev-api-token" "http://127.0.0.1:$port/api/callbacks?status=open" \
      | grep -q '"priority_label": *"urgent"'; then
    urgent=yes
    echo "urgent callback task created from the recorded comment"
    break
  fi
  sleep 1
done
if [ -z "$urgent" ]; then
  echo "no urgent callback task after 90 s" >&2
  tail -50 "$log" >&2
  exit 1
fi

# Ctrl-C: SIGINT to the whole foreground process group, as a terminal sends it.
started=$(date +%s%N)
kill -INT -- -"$pid"
wait "$pid" || true
took_ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "make run stopped ${took_ms} ms after Ctrl-C"
failed=""
if [ "$took_ms" -ge 5000 ]; then echo "stopping took ${took_ms} ms (limit 5000)" >&2; failed=yes; fi
if pgrep -f -- "$instance" >/dev/null; then echo "processes left running:" >&2; pgrep -af -- "$instance" >&2; failed=yes; fi
if grep -q "Traceback" "$log"; then echo "tracebacks in the make run output:" >&2; grep -n -A 12 "Traceback" "$log" | head -60 >&2; failed=yes; fi
said=$(grep -c "LOCAL MODE" "$log" || true)
if [ "$said" -ne 1 ]; then echo "LOCAL MODE said $said times (once expected)" >&2; failed=yes; fi
if [ -e "$instance/run.json" ]; then echo "instance/run.json left behind" >&2; failed=yes; fi
if [ -n "$failed" ]; then tail -40 "$log" >&2; exit 1; fi
echo "make run smoke test passed"
