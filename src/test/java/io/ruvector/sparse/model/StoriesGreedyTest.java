package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The golden output of stories260K: greedy from BOS, 200 steps, as llama2.c writes it. */
class StoriesGreedyTest {

    /** From the fixtures' models/README.md ("Token ids of those 200 steps"). */
    private static final int[] EXPECTED = Arrays.stream((
            "403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 "
            + "265 282 295 433 426 385 328 432 358 394 261 370 432 352 266 268 388 426 338 391 266 267 337 335 312 432 "
            + "398 312 286 267 414 270 333 415 426 13 438 310 439 419 357 336 432 313 438 310 432 278 316 439 419 298 "
            + "414 267 265 282 295 433 426 436 317 286 296 418 269 279 292 416 439 413 409 416 327 263 415 294 267 400 "
            + "426 338 336 432 313 442 391 267 337 335 364 420 268 388 432 398 359 280 303 439 413 272 417 264 312 426 "
            + "436 13 438 310 286 296 418 269 279 292 416 439 413 409 416 327 263 415 294 267 400 426 338 336 432 313 "
            + "442 439 423 262 304 420 422 432 317 426 359 279 292 416 439 413 409 416 327 263 415 294 267 400 426 436 "
            + "13 438 310 279 292 416 439 413 391 267 281 421 427 311 357 432 384 358").split(" "))
            .mapToInt(Integer::parseInt).toArray();

    @Test
    void greedyFromBosMatchesLlama2c() throws Exception {
        Path path = Fixtures.require("models/stories260K.gguf");
        try (LanguageModel model = LanguageModel.open(path, ModelOptions.defaults().withThreads(1));
             Session session = model.newSession()) {
            int[] got = new int[EXPECTED.length];
            int next = session.evaluate(1).argmax();
            for (int i = 0; i < got.length; i++) {
                got[i] = next;
                if (i + 1 < got.length) next = session.evaluate(next).argmax();
            }
            assertArrayEquals(EXPECTED, got);
        }
    }

    /** Text in, text out: tokenize, evaluate, decode, as the README of the test models gives it. */
    @Test
    void continuesOnceUponATimeWithTheKnownStory() throws Exception {
        Path path = Fixtures.require("models/stories260K.gguf");
        try (LanguageModel model = LanguageModel.open(path, ModelOptions.defaults().withThreads(1));
             Session session = model.newSession()) {
            int[] prompt = model.tokenizer().encode("Once upon a time");
            assertArrayEquals(new int[]{1, 403, 407, 261, 378}, prompt);
            int[] generated = new int[11];
            int next = session.evaluate(prompt).argmax();
            for (int i = 0; i < generated.length; i++) {
                generated[i] = next;
                next = session.evaluate(next).argmax();
            }
            assertEquals(", there was a little girl named Lily.", model.tokenizer().decode(generated));
            assertSame(model.tokenizer(), model.tokenizer());
        }
    }
}
