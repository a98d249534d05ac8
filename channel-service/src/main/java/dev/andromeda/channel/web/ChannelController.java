package dev.andromeda.channel.web;

import dev.andromeda.api.ChannelsApi;
import dev.andromeda.api.model.AckRequest;
import dev.andromeda.api.model.AckResult;
import dev.andromeda.api.model.Channel;
import dev.andromeda.api.model.ChannelSpec;
import dev.andromeda.api.model.Endpoint;
import dev.andromeda.api.model.EndpointRequest;
import dev.andromeda.api.model.LabelPatch;
import dev.andromeda.api.model.Message;
import dev.andromeda.api.model.MessageBatch;
import dev.andromeda.api.model.SendResult;
import dev.andromeda.channel.access.Caps;
import dev.andromeda.channel.flow.ChannelService;
import dev.andromeda.channel.flow.Incoming;
import dev.andromeda.channel.flow.JsonBytes;
import dev.andromeda.channel.store.ChannelStore;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.problem.ProblemAdvice;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * /ch: typed one-way FIFO channels carried by Kafka. Besides the generated contract: NDJSON
 * batches (POST with Content-Type application/x-ndjson) and streamed receiving (GET with Accept
 * application/x-ndjson or text/event-stream). Inputs kept out of the generated signatures (so the
 * generated client stays source compatible) are read from the request: the capability
 * ({@value Caps#HEADER} header or {@code cap} query), {@code wait} on sync sends, {@code ack} and
 * {@code lease} on receives, {@code leaseId} on acks.
 */
@RestController
public class ChannelController implements ChannelsApi {

    static final String NDJSON = "application/x-ndjson";

    private final ChannelService channels;
    private final HttpServletRequest request;
    private final JsonMapper json;

    public ChannelController(ChannelService channels, HttpServletRequest request, JsonMapper json) {
        this.channels = channels;
        this.request = request;
        this.json = json;
    }

    @Override
    public ResponseEntity<Channel> createChannel(ChannelSpec spec) {
        Channel c = channels.create(spec);
        return ResponseEntity.created(URI.create(c.getUri())).body(c);
    }

    @Override
    public ResponseEntity<Channel> getChannel(String id) {
        return ResponseEntity.ok(channels.get(Ids.require(id, Ids.CHANNEL, "id"), cap(request)));
    }

    @Override
    public ResponseEntity<Void> closeChannel(String id) {
        channels.close(Ids.require(id, Ids.CHANNEL, "id"), cap(request));
        return ResponseEntity.noContent().build();
    }

    @Override
    public ResponseEntity<Channel> patchChannelLabels(String id, LabelPatch patch) {
        return ResponseEntity.ok(channels.patchLabels(Ids.require(id, Ids.CHANNEL, "id"), patch));
    }

    @Override
    public ResponseEntity<SendResult> sendMessage(String id, Object body, String idempotencyKey) {
        Ids.require(id, Ids.CHANNEL, "id");
        JsonNode value = json.valueToTree(body);
        return ResponseEntity.status(HttpStatus.ACCEPTED)
                .body(channels.send(id, value, idempotencyKey, cap(request), intParam(request, "wait")));
    }

    /** Many messages, one JSON value a line; all checked before any is enqueued. */
    @PostMapping(path = "/ch/{id}/messages", consumes = NDJSON, produces = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<SendResult> sendBatch(@PathVariable("id") String id,
                                                @RequestHeader(value = "Idempotency-Key", required = false) String idempotencyKey,
                                                HttpServletRequest req) throws IOException {
        Ids.require(id, Ids.CHANNEL, "id");
        // lines split as the bytes they came as (a '\n' byte is never inside a UTF-8 character):
        // no decoding to text and encoding back, and Jackson's byte parser (the body is bounded
        // by ChannelBodyLimits); each line is read once the channel's type says how (see Incoming)
        byte[] body = req.getInputStream().readAllBytes();
        List<int[]> lines = new ArrayList<>(); // {from, length, line number}
        int line = 0;
        for (int from = 0; from < body.length; line++) {
            int nl = from;
            while (nl < body.length && body[nl] != '\n') nl++;
            int a = from, b = nl;
            from = nl + 1;
            while (a < b && blank(body[a])) a++;
            while (b > a && blank(body[b - 1])) b--;
            if (a == b) continue;
            if (b - a > ChannelService.MAX_MESSAGE_BYTES + 1024) {
                throw M31Problem.tooLarge("[" + lines.size() + "]", "line " + (line + 1) + ": a message is at most " + ChannelService.MAX_MESSAGE_BYTES + " bytes");
            }
            if (lines.size() >= ChannelService.MAX_BATCH_MESSAGES) {
                throw M31Problem.tooLarge("body", "a batch is at most " + ChannelService.MAX_BATCH_MESSAGES + " messages");
            }
            lines.add(new int[] {a, b - a, line + 1});
        }
        Incoming.Messages messages = trees -> {
            List<Incoming> values = new ArrayList<>(lines.size());
            for (int[] l : lines) {
                try {
                    values.add(trees ? Incoming.parse(body, l[0], l[1], json) : Incoming.read(body, l[0], l[1], json));
                } catch (RuntimeException notJson) {
                    throw M31Problem.badRequest("[" + values.size() + "]", "line " + l[2] + " is not JSON");
                }
            }
            return values;
        };
        return ResponseEntity.status(HttpStatus.ACCEPTED)
                .body(channels.send(id, messages, true, idempotencyKey, cap(req), intParam(req, "wait")));
    }

    /** JSON's own whitespace: what may surround a value on its line. */
    private static boolean blank(byte c) {
        return c == ' ' || c == '\t' || c == '\r';
    }

    @Override
    public ResponseEntity<MessageBatch> receiveMessages(String id, Integer wait, Integer max, String ackMode, Integer lease,
                                                        Long upTo, Long leaseId) {
        Ids.require(id, Ids.CHANNEL, "id");
        ChannelService.Ack ack = ack(ackMode, lease, "auto", ChannelService.DEFAULT_LEASE);
        // a manual receiver acknowledges what it consumed and asks for more in one request
        if (upTo == null && leaseId != null) {
            throw M31Problem.badRequest("leaseId", "leaseId names the lease that upTo acknowledges: it goes with upTo");
        }
        if (upTo != null) {
            if (!ack.manual()) throw M31Problem.badRequest("upTo", "upTo acknowledges leased messages: it goes with ack=manual");
            channels.ackConsumed(id, cap(request), upTo, leaseId);
        }
        return ResponseEntity.ok(channels.receive(id, cap(request), wait == null ? 0 : wait, max == null ? 100 : max, ack));
    }

    /**
     * A stream of messages: NDJSON (one {"seq", "value"} a line, a blank line as keep-alive, a last
     * line {"closed": true}) or Server-Sent Events (id = seq, data = the message; a last event
     * "closed"). What it writes is leased (renewed while the stream lives) unless ?ack=auto; a
     * reconnect with Last-Event-ID / ?after= acknowledges up to that seq and resumes after it.
     * Reached as GET /ch/{id}/messages with such an Accept (see {@link StreamRouting}).
     */
    @GetMapping(path = StreamRouting.STREAM_PATH)
    public void stream(@PathVariable("id") String id,
                       @RequestParam(value = "max", required = false, defaultValue = "1000") int max,
                       @RequestParam(value = "after", required = false) Long after,
                       @RequestHeader(value = "Last-Event-ID", required = false) String lastEventId,
                       HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Ids.require(id, Ids.CHANNEL, "id");
        if (max < 1 || max > 10_000) throw M31Problem.badRequest("max", "max is 1 to 10000");
        String accept = req.getHeader("Accept");
        boolean sse = accept != null && accept.contains(MediaType.TEXT_EVENT_STREAM_VALUE)
                && !(accept.contains(NDJSON) && accept.indexOf(NDJSON) < accept.indexOf(MediaType.TEXT_EVENT_STREAM_VALUE));
        ChannelService.Ack ack = ack(req, "manual", 60);
        ChannelStore.Row ch = channels.row(id);
        String grp = channels.groupOf(ch, cap(req));
        Long resume = after;
        if (sse && lastEventId != null && !lastEventId.isBlank()) {
            try {
                resume = Long.parseLong(lastEventId.trim());
            } catch (NumberFormatException e) {
                throw M31Problem.badRequest("Last-Event-ID", "Last-Event-ID is a seq");
            }
        }
        long epoch = channels.beginStream(ch, grp, resume);
        ChannelService.StreamLease held = new ChannelService.StreamLease();

        resp.setStatus(200);
        resp.setContentType(sse ? MediaType.TEXT_EVENT_STREAM_VALUE + ";charset=UTF-8" : NDJSON);
        resp.setHeader("Cache-Control", "no-cache");
        resp.setHeader("X-Accel-Buffering", "no");
        OutputStream out = resp.getOutputStream();
        out.flush();
        try {
            while (true) {
                MessageBatch b = channels.take(ch, grp, 15, max, ack, true, epoch, ack.manual() ? held : null);
                if (b == null) return; // a resumed stream of this cursor took over
                for (Message m : b.getMessages()) {
                    byte[] value = m.getValue() instanceof tools.jackson.databind.util.RawValue r && r.rawValue() instanceof JsonBytes j
                            ? j.asUnquotedUTF8() : json.writeValueAsBytes(m.getValue());
                    if (sse) {
                        out.write(("id: " + m.getSeq() + "\ndata: ").getBytes(StandardCharsets.UTF_8));
                        out.write(value);
                        out.write("\n\n".getBytes(StandardCharsets.UTF_8));
                    } else {
                        out.write(("{\"seq\":" + m.getSeq() + ",\"value\":").getBytes(StandardCharsets.UTF_8));
                        out.write(value);
                        out.write("}\n".getBytes(StandardCharsets.UTF_8));
                    }
                }
                if (b.getMessages().isEmpty() && !Boolean.TRUE.equals(b.getClosed())) {
                    out.write((sse ? ": keep-alive\n\n" : "\n").getBytes(StandardCharsets.UTF_8));
                }
                if (Boolean.TRUE.equals(b.getClosed())) {
                    out.write((sse ? "event: closed\ndata: {}\n\n" : "{\"closed\":true}\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return;
                }
                out.flush();
            }
        } catch (IOException gone) {
            // the receiver went away
        } finally {
            // whatever ended the stream, what it still held is given back now rather than at the lease's end
            channels.release(ch, grp, held);
        }
    }

    @Override
    public ResponseEntity<AckResult> ackMessages(String id, AckRequest body, Long leaseId, Boolean release) {
        Ids.require(id, Ids.CHANNEL, "id");
        if (body.getUpTo() == null) throw M31Problem.badRequest("upTo", "upTo is the seq to acknowledge up to");
        return ResponseEntity.ok(new AckResult().acked(channels.ack(id, cap(request), body.getUpTo(), Boolean.TRUE.equals(release), leaseId)));
    }

    @Override
    public ResponseEntity<Endpoint> cloneEndpoint(String id, EndpointRequest body) {
        Ids.require(id, Ids.CHANNEL, "id");
        if (body.getEnd() == null) throw M31Problem.badRequest("end", "end is send or recv");
        Endpoint e = channels.clone(id, cap(request), body.getEnd().getValue(), body.getMode() == null ? null : body.getMode().getValue());
        return ResponseEntity.status(HttpStatus.CREATED).body(e);
    }

    /** 429 with the Retry-After a sender should honour. */
    @ExceptionHandler(ChannelService.ChannelFull.class)
    ResponseEntity<ProblemDetail> full(ChannelService.ChannelFull e, HttpServletRequest req) {
        return ResponseEntity.status(429).contentType(MediaType.APPLICATION_PROBLEM_JSON).header("Retry-After", "1")
                .body(ProblemAdvice.problem(429, e.type(), e.getMessage(), null, req.getRequestURI()));
    }

    // --- request inputs kept out of the generated signatures ----------------------------------

    static String cap(HttpServletRequest req) {
        String c = req.getHeader(Caps.HEADER);
        return c != null ? c : req.getParameter("cap");
    }

    private static Integer intParam(HttpServletRequest req, String name) {
        String v = req.getParameter(name);
        if (v == null) return null;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw M31Problem.badRequest(name, name + " is a whole number");
        }
    }

    private static Long longParam(HttpServletRequest req, String name) {
        String v = req.getParameter(name);
        if (v == null) return null;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw M31Problem.badRequest(name, name + " is a whole number");
        }
    }

    private static ChannelService.Ack ack(HttpServletRequest req, String dflt, int dfltLease) {
        return ack(req.getParameter("ack"), intParam(req, "lease"), dflt, dfltLease);
    }

    private static ChannelService.Ack ack(String a, Integer lease, String dflt, int dfltLease) {
        if (a == null) a = dflt;
        if (lease != null && (lease < 1 || lease > 600)) throw M31Problem.badRequest("lease", "lease is 1 to 600 seconds");
        return switch (a) {
            case "auto" -> ChannelService.Ack.AUTO;
            case "manual" -> new ChannelService.Ack(true, lease == null ? dfltLease : lease);
            default -> throw M31Problem.badRequest("ack", "ack is auto or manual");
        };
    }
}
