#!/usr/bin/env bash
# The walk-through: two new athletes, John and Sarah, go through the friend-challenge screens
# (profile, friends, a workout, a challenge won, BEAT THIS, quitting, Round 2, decline and
# withdraw, history, stats, leaderboard, insights), then a coach's community challenge, points,
# notifications and the asynchronous contract itself.
#
#   bash docs/walkthrough.sh http://127.0.0.1:8080/api/v1
#
# Against `challenges dev` (see the README): export the COACH_TOKEN and ENVIRONMENT lines it
# prints first, or a new coach is made. John and Sarah are new users every run, so what is said
# below is what comes back whatever the database holds; their tokens come from `challenges token`
# (the CLI in .venv/bin, or $CHALLENGES), which signs with the JWT_SECRET of its environment: the
# same development secret `challenges dev` uses unless you set one (outside
# ENVIRONMENT=development it refuses that secret).
#
# Every step is one curl with --fail-with-body: an HTTP error prints its problem+json and stops
# the script (set -e). Mutations send `Prefer: wait=5`, so their answer is the finished job
# (200, or 201 when something was created), not a 202. Needs bash, curl (7.76 or later) and
# python3 (to pick ids out of the JSON).
set -euo pipefail

API=${1:?usage: bash docs/walkthrough.sh BASE_URL   (for example http://127.0.0.1:8080/api/v1)}
API=${API%/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHALLENGES=${CHALLENGES:-$HERE/../.venv/bin/challenges}
[ -x "$CHALLENGES" ] || CHALLENGES=challenges

# step TITLE: a heading in the output.
step() { printf '\n== %s\n' "$*"; }

# api METHOD PATH TOKEN [JSON]: one request, its body on stdout. A mutation waits for its job.
api() {
  local method=$1 path=$2 token=$3 out
  local args=(-sS --fail-with-body -X "$method" "$API$path" -H "Authorization: Bearer $token")
  [ "$method" = GET ] || args+=(-H 'Prefer: wait=5')
  [ $# -lt 4 ] || args+=(-H 'Content-Type: application/json' --data "$4")
  if ! out=$(curl "${args[@]}"); then
    printf '%s\n' "$out" >&2
    echo "walkthrough: $method $path failed (above: the problem the API answered)" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

# refused STATUS METHOD PATH TOKEN [JSON]: a request that must be refused with STATUS; prints
# the problem+json, and stops the script if anything else came back.
refused() {
  local status=$1 method=$2 path=$3 token=$4 out
  local args=(-sS -X "$method" "$API$path" -H "Authorization: Bearer $token" -w '\n%{http_code}')
  [ "$method" = GET ] || args+=(-H 'Prefer: wait=5')
  [ $# -lt 5 ] || args+=(-H 'Content-Type: application/json' --data "$5")
  out=$(curl "${args[@]}")
  printf '%s\n' "${out%$'\n'*}"
  if [ "${out##*$'\n'}" != "$status" ]; then
    echo "walkthrough: $method $path answered ${out##*$'\n'}, not $status" >&2
    return 1
  fi
}

# pick KEY...: the value at that path (keys, or indexes into lists) of the JSON on stdin.
pick() {
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1:]:
    value = value[int(key) if isinstance(value, list) else key]
print(value)' "$@"
}

new_id() { python3 -c 'import uuid; print(uuid.uuid4())'; }

step "Who is who"
JOHN=$(new_id); TJ=$("$CHALLENGES" token "$JOHN")
SARAH=$(new_id); TS=$("$CHALLENGES" token "$SARAH")
if [ -z "${COACH_TOKEN:-}" ]; then
  COACH=$(new_id); COACH_TOKEN=$("$CHALLENGES" token "$COACH" --role coach)
  echo "Coach  $COACH (new, role coach)"
else
  echo "Coach  the user of COACH_TOKEN (role coach)"
fi
echo "John   $JOHN"
echo "Sarah  $SARAH"

step "John has sent no command yet: GET /me is 404 no_profile"
refused 404 GET /me "$TJ"

step "John and Sarah sign up: PUT /me (200, the job's result is the profile)"
api PUT /me "$TJ" '{"display_name": "John", "timezone": "Europe/London"}'
api PUT /me "$TS" '{"display_name": "Sarah"}'

step "John's profile (points 0) and Sarah's public one as John sees it (is_friend false, no timezone)"
api GET /me "$TJ"
api GET "/users/$SARAH" "$TJ"

step "Friends: John asks (201, status pending), Sarah accepts (200, status accepted)"
api POST /friends/requests "$TJ" "{\"user_id\": \"$SARAH\"}"
api POST "/friends/requests/$JOHN/accept" "$TS"
api GET /friends "$TS"

step "John logs a workout (201): workout_log_id, 25 points, and it is posted to his friends' feed"
R=$(api POST /workouts "$TJ" \
  '{"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000, "volume_unit": "lb"}')
echo "$R"
WORKOUT=$(pick workout_log_id <<<"$R")
api GET /workouts "$TJ"

step "John challenges Sarah to beat it (201, challenge_ids, status pending)"
R=$(api POST /challenges/create "$TJ" \
  "{\"to_user_ids\": [\"$SARAH\"], \"workout_log_id\": \"$WORKOUT\", \"message\": \"Beat this!\"}")
echo "$R"
CH=$(pick challenge_ids 0 <<<"$R")

step "Sarah is notified (challenge_received), accepts, and beats it: 28 min <= 35 and 12500 lb >= 10000"
api GET "/notifications?unread=true" "$TS"
api POST "/challenges/accept/$CH" "$TS"
api POST "/challenges/complete/$CH" "$TS" '{"duration_minutes": 28, "total_volume": 12500, "volume_unit": "lb"}'

step "From John's side: direction sent, result failed (his workout was beaten), the comparison"
api GET "/challenges/$CH" "$TJ"

step "John's notifications (challenge_beaten, then challenge_accepted) and Sarah's victory post on top of his feed"
api GET /notifications "$TJ"
api GET "/feed?limit=5" "$TJ"

step "BEAT THIS: in Sarah's feed John's workout post has can_beat_this true; taking it on starts accepted"
R=$(api GET /feed "$TS")
echo "$R"
POST=$(python3 -c 'import json, sys
print(next(p["id"] for p in json.load(sys.stdin)["items"] if p["can_beat_this"]))' <<<"$R")
R=$(api POST /challenges/create "$TS" "{\"activity_id\": \"$POST\"}")
echo "$R"
BT=$(pick challenge_ids 0 <<<"$R")

step "She quits it: the quick replies, then quit with one and her partial stats (John gets challenge_abandoned)"
api GET /challenges/quit-reasons "$TS"
api POST "/challenges/abandon/$BT" "$TS" \
  '{"quit_reason": "Too hard for me 😓", "partial_stats": {"duration_minutes": 20, "total_volume": 4000}}'

step "Round 2: she retries it (201: a new accepted challenge, message \"Round 2! 💪\"), falls short, and the chain"
R=$(api POST "/challenges/retry/$BT" "$TS")
echo "$R"
R2=$(pick challenge_ids 0 <<<"$R")
api POST "/challenges/complete/$R2" "$TS" '{"duration_minutes": 40, "total_volume": 9000}'
api GET "/challenges/$R2/chain" "$TJ"

step "Sarah's insights so far: {\"items\": []} (one win, one quit, one loss: not enough for any)"
api GET /insights "$TS"

step "Decline and withdraw: John sends two more; Sarah declines one, John withdraws the other"
R=$(api POST /challenges/create "$TJ" "{\"to_user_ids\": [\"$SARAH\"], \"workout_log_id\": \"$WORKOUT\"}")
echo "$R"
TWO=$(pick challenge_ids 0 <<<"$R")
R=$(api POST /challenges/create "$TJ" "{\"to_user_ids\": [\"$SARAH\"], \"workout_log_id\": \"$WORKOUT\"}")
echo "$R"
THREE=$(pick challenge_ids 0 <<<"$R")
api POST "/challenges/decline/$TWO" "$TS"
api DELETE "/challenges/$THREE" "$TJ"

step "Accepting the withdrawn one is refused: 409 invalid_state, as application/problem+json"
refused 409 POST "/challenges/accept/$THREE" "$TS"

step "History tabs: John's quit tab (the BEAT THIS she quit); Sarah's won tab (the first challenge)"
api GET "/challenges/list?filter=quit" "$TJ"
api GET "/challenges/list?direction=received&filter=won" "$TS"

step "Sarah's stats: won 1, lost 1, quit 1, win_rate 0.3333; one retry, not won; one abandonment"
api GET /challenges/stats "$TS"

step "Leaderboard among friends, live: Sarah's win is on it already, with her skill rating"
api GET "/challenges/leaderboard?scope=friends" "$TS"

step "This week's board, and the all-time board by skill rating"
api GET "/challenges/leaderboard?period=week" "$TS"
api GET "/challenges/leaderboard?order=rating" "$TS"

step "Community: the coach makes a challenge (201), Sarah joins it"
R=$(api POST /community-challenges "$COACH_TOKEN" \
  '{"name": "4 Workouts This Week", "challenge_type": "workouts", "target_value": 4, "duration_days": 7}')
echo "$R"
CC=$(pick community_challenge_id <<<"$R")
api GET "/community-challenges/$CC" "$TS"
api POST "/community-challenges/$CC/join" "$TS"

step "Sarah logs a workout: 1 of 4 is the 25 % milestone (25 + 20 points), then a habit (10 points)"
api POST /workouts "$TS" '{"workout_name": "Morning Run", "duration_minutes": 30, "total_volume": 0}'
api POST /habits "$TS" '{"habit_name": "water", "value": 8}'

step "Her progress (25 %, rank 1 of 1), the challenge's leaderboard and her points (55, a 1-day streak)"
api GET /community-challenges/mine "$TS"
api GET "/community-challenges/$CC/leaderboard" "$TS"
api GET /points "$TS"

step "John's notifications: read the newest, then all the others (read-all's job says how many: 6)"
N=$(api GET "/notifications?unread=true" "$TJ" | pick items 0 id)
api POST "/notifications/$N/read" "$TJ"
api POST /notifications/read-all "$TJ"

step "Insights follow the event log within seconds: Sarah has now received 3 leg challenges"
# The withdrawn challenge counts: it was received. Waits for the workers to index her events.
for _ in $(seq 30); do
  R=$(api GET /insights "$TS")
  case $R in *favourite_kind*) break ;; esac
  sleep 0.5
done
echo "$R"
case $R in *favourite_kind*) ;; *) echo "walkthrough: no favourite_kind insight after 15 s" >&2; exit 1 ;; esac

step "Search her own events by meaning: \"gave up\" finds the quit (\"Too hard for me 😓\") first"
api GET "/insights/search?q=gave%20up&limit=3" "$TS"

step "Without Prefer: 202 Accepted with Location; then the job, queued or running, then succeeded"
R=$(curl -sS --fail-with-body -i -X PUT "$API/me" -H "Authorization: Bearer $TJ" \
  -H 'Content-Type: application/json' --data '{"display_name": "Johnny"}')
echo "$R"
JOB=$(sed -n 's#^[Ll]ocation: .*/jobs/\([0-9a-f-]*\).*#\1#p' <<<"$R")
for _ in $(seq 20); do
  R=$(api GET "/jobs/$JOB" "$TJ")
  case $R in *'"status": "succeeded"'*) break ;; esac
  sleep 0.25
done
echo "$R"

step "Idempotency-Key: the same key and body twice is one job (the same job_id both times)"
KEY=$(new_id)
for _ in 1 2; do
  curl -sS --fail-with-body -X POST "$API/habits" -H "Authorization: Bearer $TJ" -H 'Prefer: wait=5' \
    -H "Idempotency-Key: $KEY" -H 'Content-Type: application/json' --data '{"habit_name": "stretching"}'
  echo
done

step "Done: every step answered as described"
