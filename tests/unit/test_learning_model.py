"""The on-device mood model: encoding, training, prediction and the personal copy."""

from __future__ import annotations

import numpy as np
import pytest

from hugmood.client.emotion_lexicon import EMOTIONS as LEXICON_EMOTIONS
from hugmood.domain.vocabulary import Quadrant
from hugmood.learning import model
from hugmood.learning.features import EMOTIONS, FEATURES, Context, encode
from hugmood.learning.simulation import simulate


def test_the_model_knows_every_emotion_the_device_tags_notes_with() -> None:
    assert EMOTIONS == LEXICON_EMOTIONS


def test_a_context_is_encoded_without_any_text_and_unknown_words_are_ignored() -> None:
    x = encode(Context(20, 4, "sunny", "friends", frozenset({"walk", "unheard-of"}), 0.6, ("joy",)))
    assert x.shape == (FEATURES,)
    assert x.sum() > 0
    same = encode(Context(20, 4, "sunny", "friends", frozenset({"walk"}), 0.6, ("joy",)))
    assert np.array_equal(x, same)


@pytest.mark.parametrize(("hour", "weekday"), [(24, 0), (-1, 0), (3, 7)])
def test_a_context_with_an_impossible_time_is_refused(hour: int, weekday: int) -> None:
    with pytest.raises(ValueError, match="hour must be"):
        encode(Context(hour, weekday))


def test_training_learns_the_quadrant_from_context_and_a_personal_copy_fits_its_person() -> None:
    population = simulate(40, validation_people=10, seed=3)
    rng = np.random.default_rng(0)
    before = model.evaluate(model.initial_parameters(), population.validation)
    theta = model.train(model.initial_parameters(), population.pooled_train(), epochs=5, rng=rng)
    after = model.evaluate(theta, population.validation)
    assert after.loss < before.loss
    assert after.accuracy > 0.45  # four quadrants: chance is about 0.25
    gains = 0
    for person in population.people:
        mine = model.fine_tune(theta, person.train, rng=rng)
        gains += model.evaluate(mine, person.train).loss < model.evaluate(theta, person.train).loss
    assert gains == len(population.people)


def test_a_prediction_is_a_distribution_over_the_quadrants_and_an_intensity() -> None:
    prediction = model.predict(model.initial_parameters(), encode(Context(9, 0)))
    assert set(prediction.probabilities) == set(Quadrant)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    assert prediction.intensity == pytest.approx(0.5)


def test_parameters_of_another_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="parameters must have shape"):
        model.predict(np.zeros(3), encode(Context(9, 0)))
