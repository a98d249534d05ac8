package dev.andromeda.channel.flow;

import dev.andromeda.api.model.Channel;
import dev.andromeda.api.model.ChannelSpec;
import dev.andromeda.api.model.Endpoint;
import dev.andromeda.api.model.EndpointInfo;
import dev.andromeda.api.model.LabelPatch;
import dev.andromeda.api.model.Message;
import dev.andromeda.api.model.MessageBatch;
import dev.andromeda.api.model.SendResult;
import dev.andromeda.channel.access.Caps;
import dev.andromeda.channel.access.ChannelAccess;
import dev.andromeda.channel.kafka.KafkaPlumbing;
import dev.andromeda.channel.store.ChannelStore;
import dev.andromeda.common.channel.ChannelTypes;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Channel semantics over {@link ChannelStore} (cursors, idempotency, endpoints) and Kafka (the
 * messages). A message's seq is its record's offset + 1. Sends of one channel are serialized by
 * its row lock, held until Kafka acknowledged the records and the send is recorded, so the order
 * of sends is the record order in the partition; the dispatcher delivers a record only when its
 * send's attempt is recorded (a send that fails is never delivered, whatever Kafka took).
 *
 * <p>Receiving takes from a cursor: the channel's own (its recv endpoint and shared clones) or a
 * broadcast clone's. Auto-ack moves the cursor in PostgreSQL before the messages are answered;
 * manual ack leases them until {@link #ack} or the lease's end.
 */
@Service
public class ChannelService {

    private static final Logger log = LoggerFactory.getLogger(ChannelService.class);
    public static final int MAX_MESSAGE_BYTES = 1024 * 1024;
    public static final int MAX_BATCH_MESSAGES = 100_000;
    public static final long MAX_BATCH_BYTES = 64L * 1024 * 1024;
    static final int DEFAULT_SYNC_WAIT = 30;
    public static final int DEFAULT_LEASE = 30;

    /** How a receive acknowledges: auto (answered = acknowledged) or manual (leased for {@code leaseSeconds}). */
    public record Ack(boolean manual, int leaseSeconds) {
        public static final Ack AUTO = new Ack(false, 0);
    }

    private final ChannelStore store;
    private final KafkaPlumbing kafka;
    private final Dispatcher dispatcher;
    private final ChannelTypes types;
    private final Caps caps;
    private final JsonMapper json;
    private final TransactionTemplate tx;
    /** channel|endpoint id → the cursor a recv clone takes from (endpoints never change). */
    private final Map<String, String> endpointGroups = new ConcurrentHashMap<>();
    /** Async sends of one channel in flight together: up to a batch's worth of messages in one round trip. */
    private final GroupCommit<Pending, SendResult> together = new GroupCommit<>(MAX_BATCH_MESSAGES, this::sendTogether);

    public ChannelService(ChannelStore store, KafkaPlumbing kafka, Dispatcher dispatcher, ChannelTypes types, Caps caps,
                          JsonMapper json, TransactionTemplate tx, io.micrometer.core.instrument.MeterRegistry meters) {
        io.micrometer.core.instrument.FunctionCounter.builder("m31.channel.send.groups", together, GroupCommit::groups)
                .description("transactions that wrote async sends (see GroupCommit)").register(meters);
        io.micrometer.core.instrument.FunctionCounter.builder("m31.channel.send.joined", together, GroupCommit::joined)
                .description("async sends written in one transaction with at least one other").register(meters);
        this.store = store;
        this.kafka = kafka;
        this.dispatcher = dispatcher;
        this.types = types;
        this.caps = caps;
        this.json = json;
        this.tx = tx;
    }

    // --- create, look, close ---------------------------------------------------------------

    public Channel create(ChannelSpec spec) {
        JsonNode type = types.normalize(spec.getType() == null ? null : json.valueToTree(spec.getType()));
        String mode = spec.getMode() == null ? "async" : spec.getMode().getValue();
        boolean capabilities = Boolean.TRUE.equals(spec.getCapabilities());
        String id = Ids.newId(Ids.CHANNEL);
        String name = spec.getName();
        Map<String, String> labels = ChannelAccess.forNewChannel(spec.getLabels());
        ChannelStore.Row row;
        if (name == null) {
            row = tx.execute(s -> store.insert(id, type, mode, spec.getCapacity(), null, kafka.sharedTopic(), kafka.partitionOf(id),
                    capabilities, labels));
        } else {
            String topic = KafkaPlumbing.namedTopic(name);
            try {
                // the row and the topic together: a topic that cannot be made leaves no channel behind
                row = tx.execute(s -> {
                    ChannelStore.Row r = store.insert(id, type, mode, spec.getCapacity(), name, topic, 0, capabilities, labels);
                    kafka.ensureTopic(topic, 1);
                    return r;
                });
            } catch (DuplicateKeyException taken) {
                throw M31Problem.conflict("a channel named '" + name + "' exists");
            } catch (IllegalStateException kafkaDown) {
                throw M31Problem.unavailable("cannot create topic " + topic + ": " + kafkaDown.getMessage());
            }
            dispatcher.track(id, row.tp());
        }
        Channel c = view(row);
        c.send(endpoint(id, "s0")).recv(endpoint(id, "r0"));
        return c;
    }

    public Channel get(String id, String cap) {
        ChannelStore.Row row = row(id);
        authorize(row, cap, null, ChannelAccess.Need.READ);
        Channel c = view(row);
        List<EndpointInfo> eps = new ArrayList<>();
        eps.add(new EndpointInfo().id("s0").end(EndpointInfo.EndEnum.SEND));
        eps.add(new EndpointInfo().id("r0").end(EndpointInfo.EndEnum.RECV).cursor(""));
        for (ChannelStore.EndpointRow e : store.endpoints(id)) {
            eps.add(new EndpointInfo().id(e.id()).end(EndpointInfo.EndEnum.fromValue(e.end())).cursor(e.end().equals("recv") ? e.grp() : null));
        }
        ChannelQueue q = dispatcher.queue(id);
        if (q != null) {
            q.lock.lock();
            try {
                for (EndpointInfo e : eps) {
                    if (e.getCursor() == null) continue;
                    ChannelQueue.Group g = q.group(e.getCursor());
                    if (g != null) e.position(g.acked).backlog((long) q.pendingAfter(g.acked));
                }
            } finally {
                q.lock.unlock();
            }
        }
        return c.endpoints(eps);
    }

    public void close(String id, String cap) {
        ChannelStore.Row probe = row(id);
        authorize(probe, cap, "send", ChannelAccess.Need.ADMINISTER);
        Long closeSeq = tx.execute(s -> {
            ChannelStore.Row ch = store.lock(id).orElseThrow(() -> M31Problem.notFound("no channel " + id));
            if (ch.closed()) return null;
            // every send of the channel that was answered lies below the partition's end now (the lock is ours)
            long end;
            try {
                end = kafka.endOffset(ch.tp());
            } catch (IllegalStateException e) {
                throw M31Problem.unavailable(e.getMessage());
            }
            store.close(id, end);
            return end;
        });
        if (closeSeq != null) {
            ChannelQueue q = dispatcher.queue(id);
            if (q != null) q.close(closeSeq);
        }
    }

    /**
     * Sets and removes the channel's access labels; the checks read them from the row on every
     * call, so the change holds for the next send or receive. Decided and written under the row's
     * lock, so that two changes (or an owner handing the channel over meanwhile) do not interleave.
     */
    public Channel patchLabels(String id, LabelPatch patch) {
        ChannelStore.Row updated = tx.execute(s -> {
            ChannelStore.Row ch = store.lock(id).orElseThrow(() -> M31Problem.notFound("no channel " + id));
            ChannelAccess.checkLabelChange(ch);
            store.setLabels(id, ChannelAccess.patched(ch, patch));
            return store.find(id).orElseThrow();
        });
        return view(updated);
    }

    // --- send ----------------------------------------------------------------------------

    /** Reads and checks one message (the JSON body of a single send). */
    public SendResult send(String id, JsonNode value, String idempotencyKey, String cap, Integer syncWait) {
        Incoming one = Incoming.of(value, json);
        return send(id, trees -> List.of(one), false, idempotencyKey, cap, syncWait);
    }

    /**
     * Sends the messages in order, all or nothing: every one is checked (type, endpoints, size)
     * before anything is produced, as the JSON text it came as. They are read once the channel is
     * known: a channel of a type name needs no trees (see {@link Incoming}). A sync send then waits
     * until a receiver took the message, or withdraws it (408) — never delivered afterwards.
     */
    public SendResult send(String id, Incoming.Messages messages, boolean batch, String idempotencyKey, String cap, Integer syncWait) {
        if (idempotencyKey != null && (idempotencyKey.isEmpty() || idempotencyKey.startsWith("~"))) {
            throw M31Problem.badRequest("Idempotency-Key", "an idempotency key is not empty and does not start with ~");
        }
        ChannelStore.Row probe = row(id);
        authorize(probe, cap, "send", ChannelAccess.Need.WRITE);
        // a type name is checked by the value's kind: no tree per message
        boolean kindOnly = ChannelTypes.kindOnly(probe.type());
        List<Incoming> values = messages.read(!kindOnly);
        if (values.isEmpty()) throw M31Problem.badRequest("body", "no message to send");
        if (values.size() > MAX_BATCH_MESSAGES) throw M31Problem.tooLarge("body", "a batch is at most " + MAX_BATCH_MESSAGES + " messages");
        if (probe.sync() && values.size() > 1) {
            throw M31Problem.badRequest("body", "a synchronous channel takes one message per send (a rendezvous each)");
        }
        if (probe.closed()) throw M31Problem.gone("channel " + id + " is closed");
        int wait = syncWait == null ? DEFAULT_SYNC_WAIT : syncWait;
        if (probe.sync() && (wait < 1 || wait > 60)) throw M31Problem.badRequest("wait", "a sync send waits 1 to 60 seconds");
        List<byte[]> bytes = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            Incoming v = values.get(i);
            String prefix = batch ? "[" + i + "]" : "";
            if (kindOnly) types.check(probe.type(), v.kind, prefix);
            else types.check(probe.type(), v.tree(json), prefix);
            if (v.namesEndpoint) caps.checkEndpoints(v.tree(json), prefix + "$");
            byte[] b = v.json;
            if (b.length > MAX_MESSAGE_BYTES) {
                throw M31Problem.tooLarge(batch ? prefix : "body", "a message is at most " + MAX_MESSAGE_BYTES + " bytes (this one is " + b.length + ")");
            }
            bytes.add(b);
        }
        String attempt = UUID.randomUUID().toString();
        String owned = idempotencyKey != null ? idempotencyKey : "~" + attempt;
        byte[] digest = idempotencyKey != null ? digest(bytes) : null;
        Pending pending = new Pending(bytes, idempotencyKey, owned, attempt, digest);
        if (!probe.sync() && probe.capacity() == null) {
            // the common case: written together with the channel's other sends in flight (see GroupCommit)
            return together.submit(id, pending, bytes.size());
        }
        SendResult result = tx.execute(s -> {
            ChannelStore.Row ch = store.lock(id).orElseThrow(() -> M31Problem.notFound("no channel " + id));
            if (!store.claimKey(id, owned, attempt, digest)) {
                sameRequest(pending, store.keyDigest(id, owned));
                long[] seqs = store.keySeqs(id, owned).orElseThrow();
                return new SendResult().seq(seqs[0]).last(seqs[1]).duplicate(true);
            }
            if (ch.closed()) throw M31Problem.gone("channel " + id + " is closed");
            if (ch.capacity() != null && !ch.sync()) {
                if (bytes.size() > ch.capacity()) {
                    throw M31Problem.badRequest("body", "a batch of " + bytes.size() + " is more than the channel's capacity " + ch.capacity());
                }
                long backlog = ch.sent() - ch.received();
                if (backlog + bytes.size() > ch.capacity()) throw new ChannelFull(id, backlog, ch.capacity());
            }
            long[] seqs = produce(ch, List.of(pending)).get(0);
            store.setKeySeqs(id, owned, seqs[0], seqs[1]);
            store.recordSend(id, bytes.size(), seqs[1]);
            return new SendResult().seq(seqs[0]).last(seqs[1]).count(bytes.size()).duplicate(false);
        });
        if (probe.sync() && !Boolean.TRUE.equals(result.getDuplicate())) awaitTaken(id, result.getSeq(), wait, owned);
        return result;
    }

    /** A full async channel: 429 with Retry-After. */
    public static final class ChannelFull extends M31Problem {
        ChannelFull(String id, long backlog, int capacity) {
            super(429, "channel-full", "channel " + id + " holds " + backlog + " unreceived messages (capacity " + capacity + "); retry later", null);
        }
    }

    /**
     * One send's checked messages, its key (client's, or null) and the key it owns, its attempt id,
     * and (with a client's key) the digest of its messages.
     */
    record Pending(List<byte[]> values, String key, String owned, String attempt, byte[] digest) {}

    /** SHA-256 over the messages, each with its length: the same messages in the same batches give the same digest. */
    static byte[] digest(List<byte[]> values) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] len = new byte[4];
            for (byte[] v : values) {
                java.nio.ByteBuffer.wrap(len).putInt(v.length);
                md.update(len);
                md.update(v);
            }
            return md.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A key names one request: a retry that sends other messages under it is refused (422), not
     * taken for the duplicate it is not. A key kept without a digest (sent before digests were
     * kept) cannot be compared, and answers as a duplicate as it did.
     */
    private static void sameRequest(Pending p, byte[] first) {
        if (p.key() != null && p.digest() != null && first != null && !java.security.MessageDigest.isEqual(first, p.digest())) {
            throw M31Problem.unprocessable("Idempotency-Key", "the Idempotency-Key '" + p.key()
                    + "' was used for other messages; a key names one send (retry with the same messages, or use a new key)");
        }
    }

    /**
     * Async sends to a channel without a capacity, in one transaction and one Kafka round trip with
     * whatever else is being sent to that channel (see {@link GroupCommit}). Each send is still
     * all or nothing and gets its own seqs; a key already owned answers as a duplicate, also when
     * its owner is in the same group. A capacity or a rendezvous decides per send against the
     * channel's state, so those channels take the single path.
     */
    private List<Object> sendTogether(String id, List<Pending> group) {
        Object[] out = new Object[group.size()];
        tx.executeWithoutResult(s -> {
            ChannelStore.Row ch = store.lock(id).orElseThrow(() -> M31Problem.notFound("no channel " + id));
            List<Pending> accepted = new ArrayList<>(group.size());
            List<Integer> at = new ArrayList<>(group.size());
            Map<String, Integer> ownedHere = new HashMap<>();
            for (int i = 0; i < group.size(); i++) {
                Pending p = group.get(i);
                Integer same = ownedHere.get(p.owned());
                if (same != null) {
                    try {
                        sameRequest(p, group.get(same).digest());
                        out[i] = same; // answered from that send's seqs below
                    } catch (M31Problem mismatch) {
                        out[i] = mismatch;
                    }
                    continue;
                }
                if (ch.closed()) {
                    // a retry of a send made before the close still answers as the duplicate it is
                    out[i] = store.keySeqs(id, p.owned()).<Object>map(seqs -> new SendResult().seq(seqs[0]).last(seqs[1]).duplicate(true))
                            .orElseGet(() -> M31Problem.gone("channel " + id + " is closed"));
                    continue;
                }
                if (!store.claimKey(id, p.owned(), p.attempt(), p.digest())) {
                    try {
                        sameRequest(p, store.keyDigest(id, p.owned()));
                        long[] seqs = store.keySeqs(id, p.owned()).orElseThrow();
                        out[i] = new SendResult().seq(seqs[0]).last(seqs[1]).duplicate(true);
                    } catch (M31Problem mismatch) {
                        out[i] = mismatch;
                    }
                    continue;
                }
                ownedHere.put(p.owned(), i);
                accepted.add(p);
                at.add(i);
            }
            if (accepted.isEmpty()) return;
            List<long[]> seqs = produce(ch, accepted);
            int n = 0;
            for (int j = 0; j < accepted.size(); j++) {
                Pending p = accepted.get(j);
                long[] sq = seqs.get(j);
                store.setKeySeqs(id, p.owned(), sq[0], sq[1]);
                n += p.values().size();
                out[at.get(j)] = new SendResult().seq(sq[0]).last(sq[1]).count(p.values().size()).duplicate(false);
            }
            store.recordSend(id, n, seqs.get(seqs.size() - 1)[1]);
        });
        List<Object> answers = new ArrayList<>(out.length);
        for (Object o : out) {
            if (o instanceof Integer same) {
                SendResult first = (SendResult) out[same];
                o = new SendResult().seq(first.getSeq()).last(first.getLast()).duplicate(true);
            }
            answers.add(o);
        }
        return answers;
    }

    /**
     * Produces the records of each send in order and waits for every acknowledgement (acks=all):
     * each send's first and last seq.
     */
    private List<long[]> produce(ChannelStore.Row ch, List<Pending> sends) {
        int total = 0;
        for (Pending p : sends) total += p.values().size();
        List<Future<RecordMetadata>> acks = new ArrayList<>(total);
        try {
            for (Pending p : sends) {
                // two headers a record, no more: at ~100 bytes a message, headers cost Kafka as much
                // as the message itself (the attempt also marks the record as the service's: see Dispatcher)
                byte[] att = p.attempt().getBytes(StandardCharsets.UTF_8);
                byte[] k = p.key() == null ? null : p.key().getBytes(StandardCharsets.UTF_8);
                for (byte[] v : p.values()) {
                    ProducerRecord<String, byte[]> rec = new ProducerRecord<>(ch.topic(), ch.partition(), ch.id(), v);
                    rec.headers().add(Dispatcher.H_ATTEMPT, att);
                    if (k != null) rec.headers().add(Dispatcher.H_KEY, k);
                    acks.add(kafka.producer().send(rec));
                }
            }
            // all of it ready at once: one produce request for the group, not whatever the
            // sender thread found as it woke; the answers below are this group's records only
            kafka.sendNow();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            List<long[]> out = new ArrayList<>(sends.size());
            int i = 0;
            for (Pending p : sends) {
                long first = -1, last = -1;
                for (int j = 0; j < p.values().size(); j++) {
                    RecordMetadata md = acks.get(i++).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (first < 0) first = md.offset() + 1;
                    last = md.offset() + 1;
                }
                out.add(new long[] {first, last});
            }
            return out;
        } catch (ExecutionException e) {
            log.warn("send to {} failed: {}", ch.id(), e.getCause().toString());
            throw M31Problem.unavailable("the channel's broker did not take the message: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw M31Problem.unavailable("the channel's broker did not acknowledge within 30 s");
        } catch (org.apache.kafka.common.KafkaException e) {
            throw M31Problem.unavailable("the channel's broker did not take the message: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw M31Problem.unavailable("interrupted while sending");
        }
    }

    /** A sync send: returns once a receiver of the channel's own cursor took {@code seq}; else withdraws it, 408. */
    private void awaitTaken(String id, long seq, int waitSeconds, String owned) {
        ChannelQueue q = dispatcher.queue(id);
        if (q == null) throw M31Problem.notFound("no channel " + id);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
        boolean withdrawn;
        q.lock.lock();
        try {
            while (!q.takenUpTo(seq)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                q.taken.awaitNanos(left);
            }
            withdrawn = q.withdraw(seq);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            withdrawn = q.withdraw(seq);
        } finally {
            q.lock.unlock();
        }
        if (!withdrawn) return;
        // kept in PostgreSQL too, so that a restart does not deliver it from Kafka; and its key is
        // free again: a retry with the same Idempotency-Key is a new send, not a "duplicate"
        tx.executeWithoutResult(s -> {
            store.withdraw(id, seq);
            store.releaseKey(id, owned, seq);
        });
        throw new M31Problem(408, "not-taken", "no receiver took the message within " + waitSeconds
                + " s; it was withdrawn and will not be delivered (seq " + seq + ")", "wait");
    }

    // --- receive -------------------------------------------------------------------------

    /**
     * Up to {@code max} messages in order from the cursor of the presented recv endpoint; waits up
     * to {@code waitSeconds} for a first one. {@code closed} is true once the channel is closed and
     * that cursor has everything sent before the close.
     */
    public MessageBatch receive(String id, String cap, int waitSeconds, int max, Ack ack) {
        ChannelStore.Row ch = row(id);
        String grp = groupOf(ch, cap);
        return take(ch, grp, waitSeconds, max, ack, false);
    }

    /** The cursor of the presented recv endpoint (403 when the channel needs one and none is given). */
    public String groupOf(ChannelStore.Row ch, String cap) {
        Caps.Ep ep = authorize(ch, cap, "recv", ChannelAccess.Need.READ);
        if (ep == null || ep.id().equals("r0")) return "";
        return endpointGroups.computeIfAbsent(ch.id() + "|" + ep.id(), k -> store.endpointGroup(ch.id(), ep.id())
                .orElseThrow(() -> forbidden("the endpoint " + ep.id() + " of " + ch.id() + " does not exist")));
    }

    /** Takes from cursor {@code grp}. */
    MessageBatch take(ChannelStore.Row ch, String grp, int waitSeconds, int max, Ack ack, boolean stream) {
        return take(ch, grp, waitSeconds, max, ack, stream, -1, null);
    }

    /** The one lease a manual-ack stream holds, renewed while it lives (0 before its first messages). */
    public static final class StreamLease {
        long id;
    }

    /**
     * Takes from cursor {@code grp}: first what other receivers gave back, then what is new. A
     * manual receive gets a lease of its own (its id is in the answer); a {@code stream} keeps one
     * lease in {@code held}, renewed on every call, and gets null once a resuming stream of the same
     * cursor superseded it (its {@code epoch} is past).
     */
    public MessageBatch take(ChannelStore.Row ch, String grp, int waitSeconds, int max, Ack ack, boolean stream, long epoch, StreamLease held) {
        String id = ch.id();
        ChannelQueue q = queue(id);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
        q.lock.lock();
        try {
            ChannelQueue.Group g = q.group(grp);
            if (g == null) throw M31Problem.notFound("no cursor '" + grp + "' on " + id);
            while (true) {
                if (stream && epoch >= 0 && g.streamEpoch != epoch) return null;
                long now = System.nanoTime();
                long until = now + TimeUnit.SECONDS.toNanos(ack.leaseSeconds());
                // a stream renews its lease while it is alive; a long-poll receiver's lease runs out
                ChannelQueue.Lease mine = held == null ? null : g.leases.get(held.id);
                if (mine != null) mine.until = until;
                q.expire(g, now);
                Runnable undo = ack.manual() ? null : g.snapshot();
                SeqRanges got = new SeqRanges();
                List<ChannelQueue.Entry> batch = q.take(g, max, got);
                if (!batch.isEmpty()) {
                    Long leaseId = null;
                    if (ack.manual()) {
                        ChannelQueue.Lease l = mine != null ? mine : g.newLease(until, stream);
                        l.seqs.addAll(got);
                        leaseId = l.id;
                        if (held != null) held.id = l.id;
                    } else {
                        int n = q.ackSeqs(g, got);
                        persist(ch, g, n, undo);
                        q.trim();
                    }
                    q.taken.signalAll();
                    MessageBatch out = new MessageBatch();
                    for (ChannelQueue.Entry e : batch) out.addMessagesItem(new Message().seq(e.seq()).value(e.value()));
                    if (ack.manual()) out.lease(ack.leaseSeconds()).leaseId(leaseId);
                    return out.closed(drained(q, g));
                }
                if (drained(q, g)) {
                    return new MessageBatch().closed(true);
                }
                long left = deadline - now;
                if (left <= 0) return new MessageBatch().closed(false);
                // a closed channel is re-checked as the dispatcher reads on; a lease is re-checked at its end
                long nap = left;
                if (q.closed()) nap = Math.min(nap, TimeUnit.MILLISECONDS.toNanos(200));
                var expiry = g.nextExpiry();
                if (expiry.isPresent()) nap = Math.min(nap, Math.max(1, expiry.getAsLong() - now));
                q.arrived.awaitNanos(nap);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new MessageBatch().closed(false);
        } finally {
            q.lock.unlock();
        }
    }

    /**
     * Under the queue's lock: the cursor's acknowledged state goes to PostgreSQL ({@code n} more
     * received); when it cannot, the cursor is put back as it was and the caller gets the problem.
     */
    private void persist(ChannelStore.Row ch, ChannelQueue.Group g, int n, Runnable undo) {
        boolean saved;
        try {
            saved = store.saveAcks(ch.id(), g.id, g.acked, g.ackedAbove.flat(), n);
        } catch (RuntimeException e) {
            undo.run();
            throw e;
        }
        if (!saved) {
            undo.run();
            // another instance moved the cursor (not expected while one instance serves a channel)
            throw M31Problem.conflict("the receive cursor of " + ch.id() + " moved elsewhere; receive again");
        }
        g.received += n;
    }

    /** Under the queue's lock: the channel is closed and this cursor has everything sent before the close. */
    private boolean drained(ChannelQueue q, ChannelQueue.Group g) {
        if (!q.closed()) return false;
        return g.settled() && q.pendingAfter(g.acked) == 0 && dispatcher.position(q.partition) >= q.closeSeq();
    }

    /** Acknowledges up to {@code upTo} on the presented endpoint's cursor; answers the cursor. */
    public long ack(String id, String cap, long upTo) {
        return ack(id, cap, upTo, false, null);
    }

    /**
     * As above; with {@code release}, what stays leased beyond {@code upTo} is given back at once
     * (a receiver that stops before consuming all it took), and an upTo past what was handed out
     * acknowledges only what was. With a {@code leaseId}, only that lease's seqs are acknowledged
     * (and given back); without, everything up to {@code upTo} on the cursor, whoever holds it.
     */
    public long ack(String id, String cap, long upTo, boolean release, Long leaseId) {
        ChannelStore.Row ch = row(id);
        String grp = groupOf(ch, cap);
        return ack(ch, grp, upTo, release, release, leaseId);
    }

    /**
     * A receiver's "I consumed up to here" that comes with its next receive: up to what was
     * handed out, never a 409 — after a restart of this service what it consumed comes again
     * anyway, and the receiver drops what it already has by seq.
     */
    public long ackConsumed(String id, String cap, long upTo, Long leaseId) {
        ChannelStore.Row ch = row(id);
        String grp = groupOf(ch, cap);
        return ack(ch, grp, upTo, false, true, leaseId);
    }

    /**
     * Acknowledges on cursor {@code grp}. {@code clamp}: an upTo beyond what was handed out
     * acknowledges what was, instead of a 409.
     *
     * <p>With {@code leaseId}: the lease's seqs up to {@code upTo} (with {@code release}, its rest
     * is given back). A lease that expired is remembered: what it held and nobody took since is
     * still acknowledged (a late ack); what was handed to another receiver meanwhile is that
     * receiver's now, and stays its to acknowledge. An unknown lease (from before a restart, or long
     * gone) acknowledges nothing. Without: everything up to {@code upTo} on the cursor (the single
     * receiver's cumulative ack), and {@code release} gives back every lease.
     */
    long ack(ChannelStore.Row ch, String grp, long upTo, boolean release, boolean clamp, Long leaseId) {
        ChannelQueue q = queue(ch.id());
        q.lock.lock();
        try {
            ChannelQueue.Group g = q.group(grp);
            if (g == null) throw M31Problem.notFound("no cursor '" + grp + "' on " + ch.id());
            q.expire(g, System.nanoTime());
            Runnable undo = g.snapshot();
            long floor = g.acked;
            int n;
            if (leaseId != null) {
                ChannelQueue.Lease l = g.leases.get(leaseId);
                SeqRanges done;
                if (l != null) {
                    done = l.seqs.removeUpTo(upTo);
                    if (release || l.seqs.isEmpty()) q.release(g, l);
                } else {
                    SeqRanges was = g.expired.get(leaseId);
                    done = was == null ? new SeqRanges() : g.returned.removeCommon(new SeqRanges(was).removeUpTo(upTo));
                }
                n = q.ackSeqs(g, done);
            } else {
                // what was handed out once may be acknowledged late (after its lease ended, or after a stream broke)
                if (upTo > g.handed) {
                    if (!clamp) throw M31Problem.conflict("seq " + upTo + " was not handed out on this cursor (it stands at " + g.handed + ")");
                    upTo = g.handed;
                }
                n = q.ackUpTo(g, upTo);
                if (release) q.releaseAll(g);
            }
            if (n > 0 || g.acked != floor) {
                persist(ch, g, n, undo);
                q.trim();
            }
            return g.acked;
        } finally {
            q.lock.unlock();
        }
    }

    /**
     * A stream begins: when it resumes after {@code resume}, what the streams of this cursor
     * delivered up to it is acknowledged, what they hold beyond it is given back, and the streams
     * begun before on it end; long-poll receivers sharing the cursor keep their leases. The epoch.
     */
    public long beginStream(ChannelStore.Row ch, String grp, Long resume) {
        ChannelQueue q = queue(ch.id());
        q.lock.lock();
        try {
            ChannelQueue.Group g = q.group(grp);
            if (g == null) throw M31Problem.notFound("no cursor '" + grp + "' on " + ch.id());
            if (resume != null) {
                // the older streams end first, so that none of them takes what is given back
                g.streamEpoch++;
                Runnable undo = g.snapshot();
                long floor = g.acked;
                int n = q.resumeStreams(g, resume);
                if (n > 0 || g.acked != floor) {
                    persist(ch, g, n, undo);
                    q.trim();
                }
            }
            return g.streamEpoch;
        } finally {
            q.lock.unlock();
        }
    }

    /** A stream's end: what it still held leased is given back at once. */
    public void release(ChannelStore.Row ch, String grp, StreamLease held) {
        ChannelQueue q = dispatcher.queue(ch.id());
        if (q == null || held.id == 0) return;
        q.lock.lock();
        try {
            ChannelQueue.Group g = q.group(grp);
            ChannelQueue.Lease l = g == null ? null : g.leases.get(held.id);
            if (l != null) q.release(g, l);
        } finally {
            q.lock.unlock();
        }
    }

    // --- endpoints -----------------------------------------------------------------------

    /** Clones an endpoint: a new capability; a broadcast recv clone gets its own cursor. */
    public Endpoint clone(String id, String cap, String end, String mode) {
        ChannelStore.Row ch = row(id);
        if (!end.equals("send") && !end.equals("recv")) throw M31Problem.badRequest("end", "end is send or recv");
        if (ch.closed()) throw M31Problem.gone("channel " + id + " is closed");
        String ep = Caps.newEndpointId(end);
        if (end.equals("send")) {
            if (mode != null && !mode.equals("shared")) throw M31Problem.badRequest("mode", "mode is for recv clones");
            authorize(ch, cap, "send", ChannelAccess.Need.ADMINISTER);
            store.insertEndpoint(id, ep, "send", "");
            return endpoint(id, ep);
        }
        String from;
        if (cap == null || cap.isEmpty()) {
            // cloning hands out a new capability: without a recv cap to clone, only the owner may,
            // and the clone takes from the channel's own cursor (that of its recv endpoint r0)
            ChannelAccess.check(ch, "recv", ChannelAccess.Need.ADMINISTER);
            from = "";
        } else {
            from = groupOf(ch, cap);
        }
        if (mode == null || mode.equals("shared")) {
            store.insertEndpoint(id, ep, "recv", from);
            return endpoint(id, ep);
        }
        if (!mode.equals("broadcast")) throw M31Problem.badRequest("mode", "mode is shared or broadcast");
        // a rendezvous hands each message to one taker, and a sender resumes when it did: a second
        // cursor would see only what went through Kafka, not what co-located ends pass in memory
        if ("sync".equals(ch.mode())) {
            throw new M31Problem(409, "conflict", "channel " + id + " is sync: a rendezvous hands each message to one receiver; "
                    + "clone its recv endpoint as shared, or use an async channel to give every receiver every message", "mode");
        }
        ChannelQueue q = queue(id);
        q.lock.lock();
        try {
            ChannelQueue.Group src = q.group(from);
            if (src == null) throw M31Problem.notFound("no cursor '" + from + "' on " + id);
            // the new cursor starts where the cloned one acknowledged, under the lock: nothing moves meanwhile
            tx.executeWithoutResult(s -> {
                store.insertGroup(id, ep, src.acked);
                store.insertEndpoint(id, ep, "recv", ep);
            });
            q.addGroup(ep, src);
        } finally {
            q.lock.unlock();
        }
        return endpoint(id, ep);
    }

    // --- helpers -------------------------------------------------------------------------

    /**
     * The endpoint a presented cap names (403 when it is not a genuine cap of this channel, or of
     * the wrong end when {@code end} is given) — a cap is authority by itself; null when none is
     * presented and the caller may do what it {@code need}s by the channel's labels
     * ({@link ChannelAccess}: 401/403 otherwise).
     */
    Caps.Ep authorize(ChannelStore.Row ch, String cap, String end, ChannelAccess.Need need) {
        if (cap == null || cap.isEmpty()) {
            ChannelAccess.check(ch, end, need);
            return null;
        }
        Caps.Ep ep = caps.verify(ch.id(), cap);
        if (ep == null) throw forbidden("not a capability of channel " + ch.id());
        if (end != null && !ep.end().equals(end)) throw forbidden("this is a " + ep.end() + " capability; a " + end + " one is needed");
        return ep;
    }

    private static M31Problem forbidden(String detail) {
        return new M31Problem(403, "forbidden", detail, "cap");
    }

    public ChannelStore.Row row(String id) {
        return store.find(id).orElseThrow(() -> M31Problem.notFound("no channel " + id));
    }

    private ChannelQueue queue(String id) {
        ChannelQueue q = dispatcher.queue(id);
        if (q == null) throw M31Problem.notFound("no channel " + id);
        return q;
    }

    private Endpoint endpoint(String id, String ep) {
        return new Endpoint().$ch("/ch/" + id).end(Endpoint.EndEnum.fromValue(ep.startsWith("s") ? "send" : "recv"))
                .cap(caps.mint(id, ep)).id(ep);
    }

    private Channel view(ChannelStore.Row r) {
        return new Channel()
                .id(r.id())
                .uri("/ch/" + r.id())
                .owner(ChannelAccess.owner(r))
                .labels(r.labels().isEmpty() ? null : new java.util.LinkedHashMap<>(r.labels()))
                .type(r.type())
                .mode(r.mode())
                .capacity(r.capacity())
                .capabilities(r.capabilities())
                .name(r.name())
                .topic(r.topic())
                .partition(r.partition())
                .closed(r.closed())
                .sent(r.sent())
                .received(r.received())
                .backlog(Math.max(0, r.sent() - r.received()))
                .created(r.created() == null ? null : r.created().withOffsetSameInstant(ZoneOffset.UTC));
    }
}
