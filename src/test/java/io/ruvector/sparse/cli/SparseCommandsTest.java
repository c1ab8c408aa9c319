package io.ruvector.sparse.cli;

import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sparse.Calibrator;
import io.ruvector.sparse.sparse.PredictorTrainer;
import io.ruvector.sparse.sparse.TinyModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --sparse} on bench and logits, on a small synthetic ReLU model. */
class SparseCommandsTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path sidecar;

    @BeforeAll
    static void calibrate() throws Exception {
        model = TinyModels.write(dir.resolve("tiny.gguf"), TinyModels.SMALL, GgmlType.Q8_0, "relu", 3);
        sidecar = dir.resolve("tiny.sparse.gguf");
        var fit = PredictorTrainer.Options.defaults().withRanks(8, 16);
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            Calibrator.calibrate(m, TinyModels.randomTokens(500, 256, 9), -1, sidecar,
                    Calibrator.Options.defaults().withFit(fit).withSequenceLength(100).withMaxSamples(500), Calibrator.Progress.NONE);
        }
    }

    @Test
    void benchRunsDenseAndSparseInOneRunWithDensityRecallAndBytes() {
        CalibrateCommandTest.Run r = CalibrateCommandTest.run("bench", "-m", model.toString(), "--sparse", sidecar.toString(),
                "-p", "0", "-n", "8", "-r", "2", "-w", "1", "-t", "2", "--sparse-hot-mb", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("| tg8 |") && r.out().contains("| tg8 sparse |"), r.out());
        assertTrue(r.out().contains("greedy tokens equal to dense: 8 / 8"), r.out());
        assertTrue(r.out().contains("| layer | neurons computed |") && r.out().contains("| all |"), r.out());
        CalibrateCommandTest.Run j = CalibrateCommandTest.run("bench", "-m", model.toString(), "--sparse", sidecar.toString(),
                "-p", "0", "-n", "4", "-r", "1", "-w", "0", "-t", "1", "--json");
        assertEquals(0, j.code(), j.err());
        String sparseLine = j.out().lines().filter(l -> l.contains("tg4 sparse")).findFirst().orElseThrow();
        assertTrue(sparseLine.contains("\"speedup_vs_dense\":") && sparseLine.contains("\"recall\":")
                && sparseLine.contains("\"layers\":[{\"layer\":0"), sparseLine);
    }

    @Test
    void logitsWithSparseAndEveryNeuronMatchDense() throws Exception {
        Path dense = dir.resolve("dense.ref.gguf"), sparse = dir.resolve("sparse.ref.gguf");
        assertEquals(0, CalibrateCommandTest.run("logits", "-m", model.toString(), "--tokens", "5,17,33", "--greedy", "4",
                "-o", dense.toString()).code());
        CalibrateCommandTest.Run r = CalibrateCommandTest.run("logits", "-m", model.toString(), "--tokens", "5,17,33", "--greedy", "4",
                "-o", sparse.toString(), "--sparse", sidecar.toString(), "--sparse-density", "1");
        assertEquals(0, r.code(), r.err());
        try (GgufFile a = GgufFile.open(dense); GgufFile b = GgufFile.open(sparse)) {
            // The dense file evaluates the prompt as one batch, the sparse one token by token: the same up to rounding.
            assertArrayEquals(io.ruvector.sparse.tensor.Tensor.of(a, "logits").toFloatArray(),
                    io.ruvector.sparse.tensor.Tensor.of(b, "logits").toFloatArray(), 1e-4f);
            assertArrayEquals(a.getArray("reference.greedy").toIntArray(), b.getArray("reference.greedy").toIntArray());
        }
        CalibrateCommandTest.Run bad = CalibrateCommandTest.run("logits", "-m", model.toString(), "--tokens", "5", "-o",
                sparse.toString(), "--sparse", dir.resolve("missing.gguf").toString());
        assertEquals(Main.EXIT_BAD_INPUT, bad.code());
        assertTrue(bad.err().contains("sidecar file not found"), bad.err());
    }
}
