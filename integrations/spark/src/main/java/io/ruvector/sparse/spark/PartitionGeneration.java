package io.ruvector.sparse.spark;

import io.ruvector.sparse.generation.GenerationResult;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The task side of {@link TextGeneration#generate}: leases the executor's model for the task, and streams the
 * partition's rows through it, keeping {@link CompletionEngine#rowsInFlight()} rows submitted so a batching
 * engine has rows to decode together, and emitting results in input order.
 */
final class PartitionGeneration implements MapPartitionsFunction<Row, Row> {

    private final TextGeneration generation;
    private final int promptIndex;
    private final int seedIndex;
    private final int keyIndex;

    PartitionGeneration(TextGeneration generation, int promptIndex, int seedIndex, int keyIndex) {
        this.generation = generation;
        this.promptIndex = promptIndex;
        this.seedIndex = seedIndex;
        this.keyIndex = keyIndex;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        ExecutorModels.Lease lease = ExecutorModels.lease(generation.model());
        Rows out = new Rows(rows, lease);
        TaskContext task = TaskContext.get();
        // The task may stop before reading every row (limit, failure, kill): its rows still being generated are
        // cancelled, freeing their batch slots, and the lease goes with the task.
        if (task != null) task.addTaskCompletionListener((TaskCompletionListener) ctx -> out.abandon());
        return out;
    }

    /** A row on its way: its seed and the pending generation, or the reason it has none. */
    private record Pending(Row input, Long seed, CompletableFuture<GenerationResult> result, String error) {}

    private final class Rows implements Iterator<Row> {
        private final Iterator<Row> input;
        private final ExecutorModels.Lease lease;
        private final ArrayDeque<Pending> inFlight = new ArrayDeque<>();

        Rows(Iterator<Row> input, ExecutorModels.Lease lease) {
            this.input = input;
            this.lease = lease;
        }

        @Override
        public boolean hasNext() {
            fill();
            if (inFlight.isEmpty()) {
                lease.close();
                return false;
            }
            return true;
        }

        @Override
        public Row next() {
            if (!hasNext()) throw new NoSuchElementException();
            return output(inFlight.removeFirst());
        }

        /** Cancels the rows still in flight and lets the model go. */
        void abandon() {
            for (Pending p; (p = inFlight.pollFirst()) != null; ) {
                if (p.result() != null) p.result().cancel(false);
            }
            lease.close();
        }

        private void fill() {
            if (!input.hasNext()) return;
            int window = lease.engine().rowsInFlight();
            while (inFlight.size() < window && input.hasNext()) inFlight.addLast(start(input.next()));
        }

        private Pending start(Row row) {
            String prompt = row.isNullAt(promptIndex) ? null : row.getString(promptIndex);
            Long seed = seedOf(row, prompt);
            if (prompt == null) return new Pending(row, seed, null, "the prompt is null");
            if (prompt.isEmpty()) return new Pending(row, seed, null, "the prompt is empty");
            if (seed == null) return new Pending(row, null, null, "the seed is null");
            try {
                return new Pending(row, seed, lease.engine().submit(prompt, generation.options(seed)), null);
            } catch (IllegalArgumentException bad) {
                return new Pending(row, seed, null, bad.getMessage());
            }
        }

        private Long seedOf(Row row, String prompt) {
            if (seedIndex >= 0) return row.isNullAt(seedIndex) ? null : ((Number) row.get(seedIndex)).longValue();
            long base = generation.baseSeed();
            if (keyIndex >= 0) return row.isNullAt(keyIndex) ? null : RowSeeds.derive(base, String.valueOf(row.get(keyIndex)));
            return prompt == null ? null : RowSeeds.derive(base, prompt);
        }

        private Row output(Pending p) {
            String error = p.error();
            GenerationResult r = null;
            if (error == null) {
                try {
                    r = p.result().get();
                } catch (ExecutionException | CompletionException e) {
                    if (!(e.getCause() instanceof IllegalArgumentException bad)) throw new IllegalStateException(e.getCause());
                    error = bad.getMessage();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while generating", e);
                }
            }
            Row in = p.input();
            Object[] values = new Object[in.size() + 5];
            for (int i = 0; i < in.size(); i++) values[i] = in.get(i);
            int k = in.size();
            values[k + 1] = p.seed();
            if (r != null) {
                values[k] = r.text();
                values[k + 2] = r.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' ');
                values[k + 3] = r.generatedTokens();
            } else {
                values[k + 4] = error;
            }
            return RowFactory.create(values);
        }
    }
}
