package io.ruvector.sparse.generation;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sampling.SamplerConfig;
import io.ruvector.sparse.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The library API on the real engine: greedy from BOS gives the fixtures' README ids, and sampling repeats by seed. */
class GeneratorStoriesTest {

    private static int[] readmeIds() throws Exception {
        String readme = Files.readString(Fixtures.require("models/README.md"));
        Matcher m = Pattern.compile("Token ids of those 200 steps[^\\n]*\\n([0-9 ]+)").matcher(readme);
        assertTrue(m.find(), "no token ids in models/README.md");
        return Arrays.stream(m.group(1).trim().split(" +")).mapToInt(Integer::parseInt).toArray();
    }

    @Test
    void greedyFromBosReproducesTheReadmeIdsAndSamplingRepeatsBySeed() throws Exception {
        int[] expected = readmeIds();
        try (LanguageModel model = LanguageModel.open(Fixtures.require("models/stories260K.gguf"), ModelOptions.defaults().withThreads(1));
             Session session = model.newSession()) {
            Tokenizer tokenizer = model.tokenizer();
            Generator g = Generator.of(session, tokenizer);
            GenerationResult r = g.generate(new int[]{tokenizer.bosId()}, GenerationOptions.of(SamplerConfig.greedy(), 200),
                    TokenListener.NONE, new Cancellation());
            assertArrayEquals(expected, r.tokens());
            assertEquals(tokenizer.decode(expected), r.text());
            assertEquals(200, session.position(), "BOS and 199 of the 200 generated tokens were fed back");

            GenerationOptions sampled = GenerationOptions.of(SamplerConfig.defaults(5), 50);
            session.reset();
            String first = g.generate("Once upon a time", sampled).text();
            session.reset();
            assertEquals(first, g.generate("Once upon a time", sampled).text());
        }
    }
}
