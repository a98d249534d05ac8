package dev.andromeda.channel.flow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.channel.store.ChannelStore;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The cursor's lease bookkeeping on its own, with seqs as sparse as on the shared topic (other
 * channels' records lie between): ranges never take in a message of another set.
 */
class ChannelQueueLeaseTest {

    private static ChannelQueue queue(long[] ackedAbove, long... seqs) {
        ChannelQueue q = new ChannelQueue("c", new TopicPartition("t", 0), List.of(new ChannelStore.Group("", 0, ackedAbove, 0)), Set.of(), null);
        for (long s : seqs) assertThat(q.offer(new ChannelQueue.Entry(s, Long.toString(s).getBytes(StandardCharsets.UTF_8)))).isTrue();
        return q;
    }

    private static List<Long> seqs(List<ChannelQueue.Entry> es) {
        return es.stream().map(ChannelQueue.Entry::seq).toList();
    }

    @Test
    void leasesOverSparseSeqsAreAcknowledgedAndGivenBackEachOnItsOwn() {
        ChannelQueue q = queue(new long[0], 2, 5, 7, 9, 12, 15);
        q.lock.lock();
        try {
            ChannelQueue.Group g = q.group("");
            ChannelQueue.Lease a = g.newLease(System.nanoTime() - 1, false);
            assertThat(seqs(q.take(g, 3, a.seqs))).containsExactly(2L, 5L, 7L);
            ChannelQueue.Lease b = g.newLease(System.nanoTime() + 60_000_000_000L, false);
            assertThat(seqs(q.take(g, 2, b.seqs))).containsExactly(9L, 12L);
            assertThat(a.seqs.list()).hasSize(1);

            // B's ack leaves the floor below A's
            assertThat(q.ackSeqs(g, b.seqs.removeUpTo(12))).isEqualTo(2);
            q.release(g, b);
            assertThat(g.acked).isZero();
            assertThat(g.ackedAbove.contains(9)).isTrue();
            assertThat(g.ackedAbove.contains(15)).isFalse();

            // A's lease ran out: its three come first, then 15; taken two at a time the range splits
            q.expire(g, System.nanoTime());
            assertThat(g.leases).doesNotContainKey(a.id);
            SeqRanges c = new SeqRanges();
            assertThat(seqs(q.take(g, 2, c))).containsExactly(2L, 5L);
            SeqRanges d = new SeqRanges();
            assertThat(seqs(q.take(g, 5, d))).containsExactly(7L, 15L);
            assertThat(d.contains(9) || d.contains(12)).as("acknowledged seqs are not in a lease").isFalse();

            assertThat(q.ackSeqs(g, d)).isEqualTo(2);
            assertThat(g.acked).isZero();
            // 2 and 5 acknowledged: the floor runs over everything, 15 included
            assertThat(q.ackSeqs(g, c)).isEqualTo(2);
            assertThat(g.acked).isEqualTo(15);
            assertThat(g.ackedAbove.isEmpty()).isTrue();
            assertThat(g.settled()).isTrue();
        } finally {
            q.lock.unlock();
        }
    }

    @Test
    void afterARestartWhatWasAcknowledgedAboveTheFloorIsSkippedAndTheFloorCatchesUp() {
        // stored: floor 0, 9..12 acknowledged above it
        ChannelQueue q = queue(new long[] {9, 12}, 2, 5, 9, 12, 15);
        q.lock.lock();
        try {
            ChannelQueue.Group g = q.group("");
            SeqRanges got = new SeqRanges();
            assertThat(seqs(q.take(g, 10, got))).containsExactly(2L, 5L, 15L);
            assertThat(got.contains(15) && !got.contains(12)).isTrue();
            assertThat(q.ackUpTo(g, 5)).isEqualTo(2);
            assertThat(g.acked).isEqualTo(12);
            assertThat(q.ackSeqs(g, got)).isEqualTo(1);
            assertThat(g.acked).isEqualTo(15);
        } finally {
            q.lock.unlock();
        }
    }

    @Test
    void aResumingStreamAcknowledgesWhatABrokenStreamGaveBackUpToItsSeqAndNoOtherLease() {
        ChannelQueue q = queue(new long[0], 2, 5, 7, 9);
        q.lock.lock();
        try {
            ChannelQueue.Group g = q.group("");
            ChannelQueue.Lease poll = g.newLease(System.nanoTime() + 60_000_000_000L, false);
            q.take(g, 1, poll.seqs);
            ChannelQueue.Lease stream = g.newLease(System.nanoTime() + 60_000_000_000L, true);
            assertThat(seqs(q.take(g, 3, stream.seqs))).containsExactly(5L, 7L, 9L);
            // the stream broke (its lease given back at once); its client processed 5 and 7
            q.release(g, stream);
            assertThat(q.resumeStreams(g, 7)).isEqualTo(2);
            assertThat(g.leases).containsOnlyKeys(poll.id);
            assertThat(g.acked).isZero();
            SeqRanges next = new SeqRanges();
            assertThat(seqs(q.take(g, 10, next))).containsExactly(9L);
        } finally {
            q.lock.unlock();
        }
    }

    @Test
    void rangesMergeOnlyWhenTheyTouch() {
        SeqRanges r = new SeqRanges();
        r.add(1, 3);
        r.add(5, 6);
        assertThat(r.list()).hasSize(2);
        r.add(4, 4);
        assertThat(r.flat()).containsExactly(1, 6);
        assertThat(r.removeUpTo(2).flat()).containsExactly(1, 2);
        assertThat(r.flat()).containsExactly(3, 6);
        SeqRanges other = SeqRanges.of(new long[] {4, 4, 6, 9});
        assertThat(r.removeCommon(other).flat()).containsExactly(4, 4, 6, 6);
        assertThat(r.flat()).containsExactly(3, 3, 5, 5);
    }
}
