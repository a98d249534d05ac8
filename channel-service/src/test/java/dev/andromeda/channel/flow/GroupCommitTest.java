package dev.andromeda.channel.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class GroupCommitTest {

    /** Requests that arrive while a group is being written go together in the next one, each with its own answer. */
    @Test
    void requestsArrivingDuringAWriteAreWrittenTogetherEachAnsweredItsOwn() throws Exception {
        List<List<String>> written = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger inWork = new AtomicInteger();
        AtomicInteger overlap = new AtomicInteger();
        GroupCommit<String, String> gc = new GroupCommit<>(1000, (key, group) -> {
            if (inWork.incrementAndGet() > 1) overlap.incrementAndGet();
            written.add(group);
            sleep(20);
            inWork.decrementAndGet();
            return group.stream().<Object>map(r -> "ok:" + r).toList();
        });
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                String r = "r" + i;
                answers.add(pool.submit(() -> gc.submit("ch", r, 1)));
            }
            for (int i = 0; i < 40; i++) assertThat(answers.get(i).get(10, TimeUnit.SECONDS)).isEqualTo("ok:r" + i);
        } finally {
            pool.shutdownNow();
        }
        // one group at a time per key, every request written exactly once, and fewer writes than requests
        assertThat(overlap.get()).isZero();
        List<String> all = written.stream().flatMap(List::stream).toList();
        assertThat(all).hasSize(40).doesNotHaveDuplicates();
        assertThat(written.size()).isLessThan(40);
        assertThat(gc.groups()).isEqualTo(written.size());
        assertThat(gc.joined()).isGreaterThan(0);
    }

    @Test
    void aRequestsErrorIsItsOwnAndAFailedWriteFailsOnlyItsGroup() throws Exception {
        CountDownLatch firstInWork = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        GroupCommit<String, String> gc = new GroupCommit<>(1000, (key, group) -> {
            if (calls.incrementAndGet() == 1) {
                firstInWork.countDown();
                await(release);
                throw new IllegalStateException("broker down");
            }
            return group.stream().<Object>map(r -> r.startsWith("bad") ? new IllegalArgumentException(r) : "ok:" + r).toList();
        });
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Future<String> first = pool.submit(() -> gc.submit("ch", "first", 1));
            assertThat(firstInWork.await(5, TimeUnit.SECONDS)).isTrue();
            // these queue behind the failing write and go in the next group
            Future<String> good = pool.submit(() -> gc.submit("ch", "good", 1));
            Future<String> bad = pool.submit(() -> gc.submit("ch", "bad1", 1));
            while (gc.queued("ch") < 2) Thread.onSpinWait();
            release.countDown();
            assertThatThrownBy(first::get).hasCauseInstanceOf(IllegalStateException.class).hasMessageContaining("broker down");
            assertThat(good.get(5, TimeUnit.SECONDS)).isEqualTo("ok:good");
            assertThatThrownBy(bad::get).hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad1");
            // another key is not held up by this one
            assertThat(gc.submit("other", "x", 1)).isEqualTo("ok:x");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aGroupCarriesAtMostItsWeightAndAHeavierRequestGoesAlone() throws Exception {
        List<List<String>> written = Collections.synchronizedList(new ArrayList<>());
        GroupCommit<String, String> gc = new GroupCommit<>(10, (key, group) -> {
            written.add(group);
            sleep(10);
            return group.stream().<Object>map(r -> r).toList();
        });
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                String r = (i % 7 == 0 ? "heavy" : "light") + i;
                answers.add(pool.submit(() -> gc.submit("ch", r, r.startsWith("heavy") ? 25 : 4)));
            }
            for (Future<String> a : answers) a.get(10, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        for (List<String> g : written) {
            int w = g.stream().mapToInt(r -> r.startsWith("heavy") ? 25 : 4).sum();
            if (g.size() > 1) assertThat(w).as(g.toString()).isLessThanOrEqualTo(10);
        }
        assertThat(written.stream().mapToInt(List::size).sum()).isEqualTo(30);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void await(CountDownLatch l) {
        try {
            l.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
