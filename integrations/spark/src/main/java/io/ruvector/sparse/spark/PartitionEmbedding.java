package io.ruvector.sparse.spark;

import io.ruvector.sparse.embedding.EmbeddingModel;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The task side of {@link TextEmbedding#embed}: leases the executor's embedding model for the task and reads the
 * partition {@link TextEmbedding#batchSize} rows at a time, embedding each batch's texts with one
 * {@code embedAll} call and emitting the rows in input order.
 */
final class PartitionEmbedding implements MapPartitionsFunction<Row, Row> {

    private final TextEmbedding embedding;
    private final int textIndex;

    PartitionEmbedding(TextEmbedding embedding, int textIndex) {
        this.embedding = embedding;
        this.textIndex = textIndex;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        ExecutorModels.Lease lease = ExecutorModels.leaseEmbeddings(embedding.model());
        Rows out = new Rows(rows, lease);
        TaskContext task = TaskContext.get();
        // The task may stop before reading every row (limit, failure, kill): the lease goes with the task.
        if (task != null) task.addTaskCompletionListener((TaskCompletionListener) ctx -> lease.close());
        return out;
    }

    private final class Rows implements Iterator<Row> {
        private final Iterator<Row> input;
        private final ExecutorModels.Lease lease;
        private final ArrayDeque<Row> ready = new ArrayDeque<>();

        Rows(Iterator<Row> input, ExecutorModels.Lease lease) {
            this.input = input;
            this.lease = lease;
        }

        @Override
        public boolean hasNext() {
            if (ready.isEmpty() && input.hasNext()) embedBatch();
            if (ready.isEmpty()) {
                lease.close();
                return false;
            }
            return true;
        }

        @Override
        public Row next() {
            if (!hasNext()) throw new NoSuchElementException();
            return ready.removeFirst();
        }

        private void embedBatch() {
            List<Row> batch = new ArrayList<>(embedding.batchSize());
            while (batch.size() < embedding.batchSize() && input.hasNext()) batch.add(input.next());
            float[][] vectors = new float[batch.size()][];
            String[] errors = new String[batch.size()];
            List<String> texts = new ArrayList<>();
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                Row row = batch.get(i);
                String text = row.isNullAt(textIndex) ? null : row.getString(textIndex);
                if (text == null) errors[i] = "the text is null";
                else if (text.isEmpty()) errors[i] = "the text is empty";
                else {
                    texts.add(text);
                    at.add(i);
                }
            }
            EmbeddingModel model = lease.embeddings();
            if (!texts.isEmpty()) {
                try {
                    List<float[]> out = model.embedAll(texts);
                    for (int j = 0; j < out.size(); j++) vectors[at.get(j)] = out.get(j);
                } catch (IllegalArgumentException batchRefused) {
                    // Some text of the batch was refused: embed them one by one so only that row gets the error.
                    for (int j = 0; j < texts.size(); j++) {
                        try {
                            vectors[at.get(j)] = model.embed(texts.get(j));
                        } catch (IllegalArgumentException bad) {
                            errors[at.get(j)] = bad.getMessage();
                        }
                    }
                }
            }
            for (int i = 0; i < batch.size(); i++) ready.addLast(output(batch.get(i), vectors[i], errors[i]));
        }

        private static Row output(Row in, float[] vector, String error) {
            Object[] values = new Object[in.size() + 2];
            for (int i = 0; i < in.size(); i++) values[i] = in.get(i);
            if (vector != null) {
                Float[] boxed = new Float[vector.length];
                for (int i = 0; i < vector.length; i++) boxed[i] = vector[i];
                values[in.size()] = boxed;
            }
            values[in.size() + 1] = error;
            return RowFactory.create(values);
        }
    }
}
