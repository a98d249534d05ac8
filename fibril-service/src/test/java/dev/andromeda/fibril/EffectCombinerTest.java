package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.fibril.effects.EffectCombiner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.node.JsonNodeFactory;

class EffectCombinerTest {

    @Test
    void concurrentAddersSumExactlyAcrossFlushes() throws Exception {
        FakeMantle store = new FakeMantle();
        store.makeSpace("words", JsonNodeFactory.instance.objectNode().put("key", "word")).join();
        // a low threshold forces many generation swaps while the adders run
        try (EffectCombiner c = new EffectCombiner(store, "N", Duration.ofMillis(5), 100)) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<Long>> last = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                last.add(pool.submit(() -> {
                    long gen = 0;
                    for (int i = 0; i < 50_000; i++) {
                        gen = Math.max(gen, c.add(null, "words", "w" + (i % 500), "freq", (thread % 2 == 0) ? 2 : -1));
                    }
                    return gen;
                }));
            }
            long maxGen = 0;
            for (Future<Long> f : last) maxGen = Math.max(maxGen, f.get());
            pool.shutdown();
            c.awaitDurable(maxGen).get(20, TimeUnit.SECONDS);
            assertThat(maxGen).isGreaterThan(1);
            // 4 threads add 2, 4 subtract 1, 100 times per key each
            for (int k = 0; k < 500; k++) assertThat(store.value("words", "w" + k, "freq")).isEqualTo(400L);
        }
    }

    @Test
    void aFailedBatchIsResentWithTheSameIdAndAppliedOnce() throws Exception {
        FakeMantle store = new FakeMantle();
        store.makeSpace("words", JsonNodeFactory.instance.objectNode().put("key", "word")).join();
        try (EffectCombiner c = new EffectCombiner(store, "N", Duration.ofSeconds(60), 50_000)) {
            store.failNextInvokes.set(2);
            long gen = c.add(null, "words", "pi", "freq", 3);
            c.add(null, "words", "pi", "freq", 4);
            c.awaitDurable(gen).get(10, TimeUnit.SECONDS);
            assertThat(store.batchAttempts).hasSize(3);
            assertThat(store.batchAttempts).containsOnly(store.batchAttempts.get(0));
            assertThat(store.value("words", "pi", "freq")).isEqualTo(7L);
            // a later generation gets a new id
            long next = c.add(null, "words", "pi", "freq", 1);
            assertThat(next).isGreaterThan(gen);
            c.awaitDurable(next).get(10, TimeUnit.SECONDS);
            assertThat(store.batchAttempts).hasSize(4);
            assertThat(store.batchAttempts.get(3)).isNotEqualTo(store.batchAttempts.get(0));
            assertThat(store.value("words", "pi", "freq")).isEqualTo(8L);
        }
    }

    @Test
    void aRefusedInvocationIsIsolatedAndTheRestApplied() throws Exception {
        FakeMantle store = new FakeMantle();
        store.makeSpace("words", JsonNodeFactory.instance.objectNode().put("key", "word")).join();
        try (EffectCombiner c = new EffectCombiner(store, "N", Duration.ofSeconds(60), 50_000)) {
            long gen = 0;
            for (int i = 0; i < 100; i++) gen = c.add(null, "words", "w" + i, "freq", 1);
            c.add(null, "words", "refuse-me", "freq", 1);
            c.awaitDurable(gen).get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 100; i++) assertThat(store.value("words", "w" + i, "freq")).isEqualTo(1L);
            assertThat(store.value("words", "refuse-me", "freq")).isZero();
            // ids of halves are derived from the refused batch's, so they are as unique as it is
            assertThat(store.batchAttempts).allMatch(id -> id.startsWith(store.batchAttempts.get(0)));
        }
    }

    @Test
    void aResentBatchIsNotAppliedTwice() {
        FakeMantle store = new FakeMantle();
        store.makeSpace("s", JsonNodeFactory.instance.objectNode().put("key", "k")).join();
        var batch = JsonNodeFactory.instance.objectNode().put("batchId", "b1");
        batch.putArray("invocations").addObject().put("key", "x").putObject("ops").putObject("n").put("op", "incr").put("n", 5);
        assertThat(store.invoke("s", batch).join().path("applied").asBoolean()).isTrue();
        assertThat(store.invoke("s", batch).join().path("applied").asBoolean()).isFalse();
        assertThat(store.value("s", "x", "n")).isEqualTo(5L);
    }

    @Test
    void fibrilsEndingWhileTheNodeComputesShareOneFlushWhenItIdles() throws Exception {
        FakeMantle store = new FakeMantle();
        store.makeSpace("words", JsonNodeFactory.instance.objectNode().put("key", "word")).join();
        java.util.concurrent.atomic.AtomicBoolean computing = new java.util.concurrent.atomic.AtomicBoolean(true);
        try (EffectCombiner c = new EffectCombiner(store, "N", Duration.ofMinutes(10), 50_000)) {
            c.pacedWhile(computing::get);
            long gen = c.addAll(null, "words", "freq", new String[] {"a", "b"}, new long[] {2, 1});
            var first = c.awaitDurable(gen);
            c.add(null, "words", "a", "freq", 5);
            var second = c.awaitDurable(gen);
            Thread.sleep(300);
            // the node still computes and the spacing (10 min) has not passed: nothing sent yet
            assertThat(first).isNotDone();
            assertThat(store.batchAttempts).isEmpty();
            computing.set(false);
            first.get(10, TimeUnit.SECONDS);
            second.get(10, TimeUnit.SECONDS);
            assertThat(store.batchAttempts).hasSize(1);
            assertThat(store.value("words", "a", "freq")).isEqualTo(7L);
            assertThat(store.value("words", "b", "freq")).isEqualTo(1L);
        }
    }

    @Test
    void nothingPendingIsDurableAtOnce() {
        try (EffectCombiner c = new EffectCombiner(new FakeMantle(), "N", Duration.ofSeconds(60), 10)) {
            assertThat(c.awaitDurable(0)).isDone();
            assertThat(c.awaitAll()).isDone();
        }
    }
}
