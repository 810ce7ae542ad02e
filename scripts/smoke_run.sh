#!/usr/bin/env bash
# Start `make run` with no services, wait for /healthz, place a simulated call, stop it.
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
# A whole survey through the running app and its fake Twilio.
env -u DATABASE_URL -u REDIS_URL PORT=$port INSTANCE_PATH="$instance" TWILIO_API_BASE_URL="http://127.0.0.1:$((port + 1))" \
  .venv/bin/flask --app ivr simulate --script "9#,4,1,2,2" | tee "$instance/call.log"
grep -q "Goodbye" "$instance/call.log"
# An anxious recorded comment: the worker downloads, transcribes and reads it, and an
# urgent callback task shows up in the API.
env -u DATABASE_URL -u REDIS_URL PORT=$port INSTANCE_PATH="$instance" TWILIO_API_BASE_URL="http://127.0.0.1:$((port + 1))" \
  .venv/bin/flask --app ivr simulate --from +14155550199 \
  --script "3#,2,2,1,record:tests/fixtures/audio/anxious.wav,2" >/dev/null
for _ in $(seq 1 90); do
  if curl -fsS -H "Authorization: Bearer dev-api-token" "http://127.0.0.1:$port/api/callbacks?status=open" \
      | grep -q '"priority_label": *"urgent"'; then
    echo "urgent callback task created from the recorded comment"
    echo "make run smoke test passed"
    exit 0
  fi
  sleep 1
done
echo "no urgent callback task after 90 s" >&2
tail -50 "$log" >&2
exit 1
