"""Skill ratings: openskill's Weng-Lin Plackett-Luce model, one two-player game per settled
challenge (completed: the challenged athlete wins if they beat the target; abandoned: they
lose), applied once, by the transaction that settles it.

A rating is a belief about an athlete's skill: `mu` the estimate, `sigma` how unsure it is.
`value` = mu - 3 sigma is the skill we are nearly sure they have; it starts at 0 and rises as
results confirm it, so a few lucky wins do not top the board, and beating a strong athlete moves
it more than beating a new one.
"""

from openskill.models import PlackettLuce

from sql import queries

Q = queries("core")
MODEL = PlackettLuce()


def value_of(mu: float, sigma: float) -> float:
    return mu - 3 * sigma


def rating_view(mu: float | None, sigma: float | None, rated_challenges: int) -> dict:
    """An athlete's rating as the API shows it; the starting one when `mu` is None."""
    mu, sigma = (MODEL.mu, MODEL.sigma) if mu is None else (mu, sigma)
    return {"value": round(value_of(mu, sigma), 4), "mu": round(mu, 4), "sigma": round(sigma, 4),
            "rated_challenges": rated_challenges}


def rated(before: dict, after) -> dict:
    """What one game did to one athlete's rating, as the challenge keeps it."""
    value = value_of(after.mu, after.sigma)
    return {"user_id": str(before["user_id"]), "before": round(before["value"], 4), "after": round(value, 4),
            "change": round(value - before["value"], 4), "mu": round(after.mu, 4),
            "sigma": round(after.sigma, 4)}


def play(challenger: tuple[float, float], challenged: tuple[float, float],
         challenged_won: bool) -> tuple:
    """The two new ratings (openskill objects) after one game."""
    (new_challenger,), (new_challenged,) = MODEL.rate(
        [[MODEL.create_rating(list(challenger))], [MODEL.create_rating(list(challenged))]],
        ranks=[1, 0] if challenged_won else [0, 1])
    return new_challenger, new_challenged


def rate_settled_challenge(conn, challenge: dict, *, challenged_won: bool) -> tuple[dict, int]:
    """Lock both athletes' ratings, play the game and save both new ratings. Returns what it did
    to them and its place in the order ratings are applied: the challenge's `rating_change` and
    `rating_seq`, which the caller writes with the challenge's new status (one row version)."""
    challenger_id, challenged_id = str(challenge["from_user_id"]), str(challenge["to_user_id"])
    locked = list(Q.lock_ratings(conn, user_ids=[challenger_id, challenged_id],
                                 mu=MODEL.mu, sigma=MODEL.sigma))
    ratings = {str(row["user_id"]): row for row in locked}
    challenger, challenged = ratings[challenger_id], ratings[challenged_id]
    new_challenger, new_challenged = play((challenger["mu"], challenger["sigma"]),
                                          (challenged["mu"], challenged["sigma"]), challenged_won)
    change = {"challenger": rated(challenger, new_challenger), "challenged": rated(challenged, new_challenged)}
    Q.save_ratings(conn, challenger=challenger_id, challenger_mu=new_challenger.mu,
                   challenger_sigma=new_challenger.sigma, challenged=challenged_id,
                   challenged_mu=new_challenged.mu, challenged_sigma=new_challenged.sigma)
    return change, max(row["seq"] for row in locked)
