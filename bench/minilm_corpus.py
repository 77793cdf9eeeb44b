"""Sentences of the MiniLM benchmark: a calibration set and a separate evaluation set.

The evaluation set spans 5 to 256 tokens (the model's limit: longer texts are truncated), the
calibration set is other text of similar kinds. Scales come only from the calibration set
(static calibration), never from the sentences they are evaluated on.
"""

from __future__ import annotations

_HISTORY = (
    "The printing press, developed in the middle of the fifteenth century, changed the way "
    "knowledge moved across Europe. Before it, books were copied by hand, slowly and at great "
    "cost, and a single error could travel from one manuscript to the next for generations. "
    "With movable type a workshop could produce hundreds of identical pages in a day, and "
    "prices fell quickly. Pamphlets, calendars, grammars and scientific treatises reached "
    "readers who had never owned a book. Scholars could compare the same edition in different "
    "cities and correct mistakes in later printings. Governments and churches soon tried to "
    "control what was printed, while merchants used printed forms and price lists to organise "
    "trade. Literacy rose slowly but steadily, and the spread of vernacular languages in print "
    "helped to standardise spelling and grammar. Historians still argue about how fast these "
    "changes happened, yet few doubt that the press was one of the turning points of the "
    "modern world, comparable in its effects to the arrival of the internet centuries later, "
    "when information again became cheap to copy and hard to contain.")

_TRAVEL = (
    "We left the village before sunrise, when the valley was still full of fog and the only "
    "sound was the river running over the stones. The path climbed through pine forest for two "
    "hours, then opened onto a wide meadow where cows grazed between patches of late snow. At "
    "the pass the wind was so strong that we had to lean into it, and the view on the other "
    "side made us forget how tired we were: a chain of glaciers, blue and white, stretching to "
    "the horizon under a perfectly clear sky. We ate bread and cheese behind a rock, watched a "
    "pair of eagles circling above the ridge, and started the long descent towards the lake, "
    "where a small hut offered soup, a dry bed and a stove that warmed the whole room.")

EVALUATION = [
    "Hello world.",
    "A man is eating food.",
    "The new movie is awesome.",
    "How do I change my password?",
    "Two people are playing chess in the park on a sunny afternoon.",
    "The central bank raised interest rates by a quarter of a percentage point on Wednesday.",
    "Please remember to bring your passport and a printed copy of the booking confirmation.",
    "Neural networks learn representations of their inputs by adjusting millions of weights "
    "with gradient descent.",
    "She walked to the station in the rain, missed the last train, and spent the night in a "
    "small hotel near the harbour.",
    "Attention lets a model weigh every word of a sentence against every other word.",
    "The recipe calls for two cups of flour, one egg, a pinch of salt and half a cup of milk.",
    "Our team shipped the release on Friday after fixing the last three regressions found by "
    "the nightly tests.",
    "Despite the storm, the volunteers kept the shelter open all night and served hot meals "
    "to more than two hundred people who had lost power.",
    "Quantum computers use qubits, which can be in a superposition of states, to solve "
    "certain problems faster than classical machines.",
    "The museum's new wing displays sculptures, paintings and manuscripts from the early "
    "medieval period, many of them shown to the public for the first time.",
    "If the sensor reports a temperature above the threshold for more than ten seconds, the "
    "controller shuts the pump down and raises an alarm on the operator's console.",
    " ".join([_TRAVEL.split(". ")[0], _TRAVEL.split(". ")[1]]) + ".",
    _TRAVEL,
    _HISTORY[: len(_HISTORY) // 2],
    _HISTORY,
    _HISTORY + " " + _TRAVEL,          # beyond 256 tokens: truncated to 256
]

CALIBRATION = [
    "The cat sat on the mat while the dog slept by the fire.",
    "Stock markets fell sharply on Monday after the announcement of new tariffs.",
    "Where is the nearest pharmacy that is open on Sunday?",
    "A quick brown fox jumps over the lazy dog near the river bank.",
    "Photosynthesis converts light energy into chemical energy stored in sugars.",
    "I love this song, it reminds me of the summer we spent by the sea.",
    "The committee will publish its final report after reviewing comments from the public "
    "consultation, which closes at the end of next month.",
    "Engineers tested the bridge with loaded trucks before opening it to traffic, measuring how "
    "far the deck bent under each axle and comparing the results with the model. The "
    "deflections stayed well inside the limits, and the inspectors signed off the structure "
    "after a final check of the bearings, the expansion joints and the drainage system that "
    "keeps water away from the steel.",
]
