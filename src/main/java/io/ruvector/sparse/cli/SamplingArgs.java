package io.ruvector.sparse.cli;

import io.ruvector.sparse.sampling.SamplerConfig;
import picocli.CommandLine.Option;

import java.util.concurrent.ThreadLocalRandom;

/** The sampling options, with llama.cpp's names and defaults. */
final class SamplingArgs {

    @Option(names = "--temp", paramLabel = "T", description = "temperature; 0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature = SamplerConfig.DEFAULT_TEMPERATURE;

    @Option(names = "--top-k", paramLabel = "K", description = "keep the K most likely tokens; 0 = off (default: ${DEFAULT-VALUE})")
    int topK = SamplerConfig.DEFAULT_TOP_K;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling; 1 = off (default: ${DEFAULT-VALUE})")
    float topP = SamplerConfig.DEFAULT_TOP_P;

    @Option(names = "--min-p", paramLabel = "P", description = "drop tokens below P x the top probability; 0 = off (default: ${DEFAULT-VALUE})")
    float minP = SamplerConfig.DEFAULT_MIN_P;

    @Option(names = "--repeat-penalty", paramLabel = "X", description = "penalize recent tokens; 1 = off (default: ${DEFAULT-VALUE})")
    float repeatPenalty = 1f;

    @Option(names = "--repeat-last-n", paramLabel = "N", description = "recent tokens the penalties look at (default: ${DEFAULT-VALUE})")
    int repeatLastN = SamplerConfig.DEFAULT_REPEAT_LAST_N;

    @Option(names = "--presence-penalty", paramLabel = "X", description = "0 = off (default: ${DEFAULT-VALUE})")
    float presencePenalty = 0f;

    @Option(names = "--frequency-penalty", paramLabel = "X", description = "0 = off (default: ${DEFAULT-VALUE})")
    float frequencyPenalty = 0f;

    @Option(names = {"-s", "--seed"}, paramLabel = "N", description = "random seed (default: a random one, printed on stderr)")
    Long seed;

    /** The settings; a missing seed is drawn at random. */
    SamplerConfig config() {
        long s = seed != null ? seed : ThreadLocalRandom.current().nextLong() & 0xFFFF_FFFFL;
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty,
                presencePenalty, s);
    }

    /** True when the seed matters and was not given, so it is worth printing. */
    boolean seedWorthPrinting(SamplerConfig c) { return seed == null && !c.isGreedy(); }
}
