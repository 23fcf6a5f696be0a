"""Many joins to one community challenge at once, carried out by the real workers: the seed
counted the participants and then inserted, so two joins could both pass. Here the count is
checked and kept under the challenge's row lock, with a constraint behind it.

The race is staged as in test_races.py: a test connection holds the challenge's row lock while
all the joins are sent without waiting, so every one passes the API's early check (the challenge
is empty then) and reaches a worker; then the lock is let go.
"""

import psycopg

from tests.api.support import job_path, poll_job
from tests.api.test_races import wait_for_lock_waiters

JOINERS = 50
CAPACITY = 10
JOB_TIMEOUT = 60.0


def test_fifty_joins_at_once_to_a_challenge_of_ten_give_exactly_ten(api, database, conn):
    # Given a challenge for at most 10 and 50 athletes who want in
    coach = api.sign_up("Coach Kim")
    challenge_id = api.create_community(coach, max_participants=CAPACITY)
    athletes = [api.sign_up(f"Athlete {n}") for n in range(JOINERS)]

    # When all 50 join at once, each passing the API's check before any worker decides
    with psycopg.connect(database) as holder:
        holder.execute("SELECT 1 FROM challenges WHERE id = %s FOR UPDATE", (challenge_id,))
        sent = [(athlete, api.post(f"/community-challenges/{challenge_id}/join", athlete, wait=0))
                for athlete in athletes]
        assert all(response.status_code == 202 for _, response in sent), [r.text for _, r in sent]
        wait_for_lock_waiters(database, 1)
        holder.rollback()
    jobs = [poll_job(api, athlete, job_path(response), timeout=JOB_TIMEOUT) for athlete, response in sent]

    # Then exactly 10 joins succeeded and the other 40 were told the challenge is full
    outcomes = sorted((job["status"], (job["error"] or {}).get("code")) for job in jobs)
    assert outcomes == [("failed", "challenge_full")] * (JOINERS - CAPACITY) + [("succeeded", None)] * CAPACITY
    # And the challenge holds exactly the 10 who succeeded
    joined = {row["user_id"] for row in conn.execute(
        "SELECT user_id::text FROM challenge_participants WHERE challenge_id = %s", (challenge_id,))}
    winners = {athlete for (athlete, _), job in zip(sent, jobs) if job["status"] == "succeeded"}
    assert joined == winners
    [listed] = api.get("/community-challenges", coach).json["items"]
    assert listed["participant_count"] == CAPACITY


def test_the_database_refuses_an_eleventh_participant_even_without_the_check(api, conn):
    # Given a full challenge of one
    coach, first = api.sign_up("Coach Kim"), api.sign_up("First")
    challenge_id = api.create_community(coach, max_participants=1)
    api.join(first, challenge_id)

    # When a second join skips the rule and counts itself in directly
    try:
        conn.execute("UPDATE challenges SET participant_count = participant_count + 1 WHERE id = %s",
                     (challenge_id,))
        refused = None
    except psycopg.errors.CheckViolation as error:
        refused = error
    conn.rollback()

    # Then the capacity constraint refuses it, and the challenge still holds one
    assert refused is not None and "not_over_capacity" in str(refused)
    count = conn.execute("SELECT participant_count FROM challenges WHERE id = %s", (challenge_id,)).fetchone()
    assert count["participant_count"] == 1
