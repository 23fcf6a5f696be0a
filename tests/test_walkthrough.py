"""The heart of the walk-through (docs/walkthrough.sh), in process, as one mobile developer would
do it; tests/test_walkthrough_script.py runs the script itself over HTTP."""


def test_a_friend_beats_my_workout_and_everyone_sees_it(api):
    # Given two friends, and John's logged workout
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    workout = api.log_workout(john, minutes=35, volume=10000)

    # When John challenges Sarah, she accepts and beats it
    [challenge] = api.challenge(john, [sarah], workout, message="Beat this!")
    assert api.post(f"/challenges/accept/{challenge}", sarah).status_code == 200
    done = api.post(f"/challenges/complete/{challenge}", sarah,
                    {"duration_minutes": 28, "total_volume": 12500, "volume_unit": "lb"})

    # Then the job says victory, the challenge shows it from both sides
    assert done.status_code == 200, done.text
    assert done.json["result"]["did_beat"] is True
    seen_by_sarah = api.get(f"/challenges/{challenge}", sarah).json
    assert (seen_by_sarah["direction"], seen_by_sarah["result"]) == ("received", "victory")
    assert seen_by_sarah["opponent"]["display_name"] == "John"
    seen_by_john = api.get(f"/challenges/{challenge}", john).json
    assert (seen_by_john["direction"], seen_by_john["opponent"]["display_name"]) == ("sent", "Sarah")

    # and John was told he was beaten, and the feed has Sarah's victory post
    kinds = [n["notification_type"] for n in api.notifications(john)]
    assert kinds == ["challenge_beaten", "challenge_accepted"]
    assert [n["notification_type"] for n in api.notifications(sarah)] == ["challenge_received"]
    feed = api.get("/feed", john).json["items"]
    victory = feed[0]
    assert victory["activity_type"] == "challenge_victory"
    assert victory["user"]["id"] == sarah
    assert victory["activity_data"]["time_difference"] == 7
    assert victory["activity_data"]["volume_difference"] == 2500
