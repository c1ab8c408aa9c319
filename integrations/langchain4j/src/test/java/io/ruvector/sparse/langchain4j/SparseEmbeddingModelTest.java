package io.ruvector.sparse.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.listener.EmbeddingModelListener;
import dev.langchain4j.model.embedding.listener.EmbeddingModelRequestContext;
import dev.langchain4j.model.embedding.listener.EmbeddingModelResponseContext;
import dev.langchain4j.model.output.Response;
import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.embedding.EmbeddingOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The in-process LangChain4j EmbeddingModel on all-MiniLM-L6-v2 against the engine's EmbeddingModel: the same
 * vectors for the same texts, token usage, dimension without embedding, listeners, use after close.
 */
@Timeout(300)
class SparseEmbeddingModelTest {

    static final String MODEL = "models/all-minilm-l6-v2.F32.gguf";
    static final List<String> TEXTS = List.of("The cat sat on the mat.", "A dog barked at the mailman.",
            "Stock markets fell sharply on Monday.", "Der Hund bellt.");

    static Path path;
    static SparseEmbeddingModel model;
    static io.ruvector.sparse.embedding.EmbeddingModel library;

    @BeforeAll
    static void open() throws Exception {
        path = Fixtures.require(MODEL);
        EmbeddingOptions options = EmbeddingOptions.defaults().withThreads(2);
        model = SparseEmbeddingModel.open(path, options);
        library = io.ruvector.sparse.embedding.EmbeddingModel.open(path, options);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (library != null) library.close();
    }

    @Test
    void embedAllGivesTheLibrarysVectorsAndTokenUsage() {
        Response<List<Embedding>> r = model.embedAll(TEXTS.stream().map(TextSegment::from).toList());
        List<float[]> expected = library.embedAll(TEXTS);
        assertEquals(TEXTS.size(), r.content().size());
        for (int i = 0; i < TEXTS.size(); i++) {
            // The same engine on the same file and the same batch: the same sums in the same order.
            assertArrayEquals(expected.get(i), r.content().get(i).vector(), "text " + i);
        }
        int tokens = 0;
        for (String t : TEXTS) tokens += library.tokenize(t).length;
        assertEquals(tokens, r.tokenUsage().inputTokenCount());
        assertEquals(tokens, r.tokenUsage().totalTokenCount());

        // Related sentences are nearer than unrelated ones (unit vectors: the dot product is the cosine).
        float[] cat = r.content().get(0).vector(), dog = r.content().get(1).vector(), stocks = r.content().get(2).vector();
        assertTrue(io.ruvector.sparse.embedding.EmbeddingModel.dot(cat, dog) > io.ruvector.sparse.embedding.EmbeddingModel.dot(cat, stocks));
    }

    @Test
    void singleTextAndDimension() {
        assertEquals(384, model.dimension());
        Response<Embedding> one = model.embed("Der Hund bellt.");
        assertEquals(384, one.content().dimension());
        float[] expected = library.embed("Der Hund bellt.");
        double cos = io.ruvector.sparse.embedding.EmbeddingModel.dot(expected, one.content().vector());
        assertTrue(cos >= 1 - 1e-6, "cosine " + cos);
        assertEquals(library.tokenize("Der Hund bellt.").length, one.tokenUsage().inputTokenCount());
        assertEquals("all-minilm-l6-v2.F32", model.modelName());
        assertEquals(0, model.embedAll(List.of()).content().size());
    }

    @Test
    void listenersSeeRequestAndResponse() {
        List<String> seen = new CopyOnWriteArrayList<>();
        EmbeddingModel listening = model.addListener(new EmbeddingModelListener() {
            @Override
            public void onRequest(EmbeddingModelRequestContext context) { seen.add("request " + context.textSegments().size()); }

            @Override
            public void onResponse(EmbeddingModelResponseContext context) { seen.add("response " + context.response().content().size()); }
        });
        listening.embedAll(List.of(TextSegment.from("one"), TextSegment.from("two")));
        assertEquals(List.of("request 2", "response 2"), seen);
    }

    @Test
    void useAfterCloseThrows() throws Exception {
        SparseEmbeddingModel closed = SparseEmbeddingModel.open(path, EmbeddingOptions.defaults().withThreads(1));
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.embed("text"));
    }

    @Test
    void aGeneratingModelIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparseEmbeddingModel.open(Fixtures.require("models/stories260K.gguf")));
        assertTrue(e.getMessage().contains("llama"), e.getMessage());
    }
}
