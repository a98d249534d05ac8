package dev.andromeda.common.net;

import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Callers;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * A node's virtual resources under /net/node={n}: {@code metrics} (JVM figures, plus whatever
 * the node adds through {@link NodeMetrics} beans) and {@code tcpdmp} (a bounded packet capture,
 * admin only, see {@link PacketCapture}). Not component-scanned: a node registers it with
 * {@code @Import(NodeResourcesController.class)}; it needs {@code m31.node}.
 */
@RestController
public class NodeResourcesController {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeResourcesController.class);

    /** Figures a node adds to /net/node={n}/metrics (fibrils parked, carriers busy, …). */
    @FunctionalInterface
    public interface NodeMetrics extends Supplier<Map<String, Object>> {}

    private final M31Properties props;
    private final PacketCapture capture;
    private final ObjectProvider<NodeMetrics> extra;

    public NodeResourcesController(M31Properties props, ObjectProvider<PacketCapture> capture, ObjectProvider<NodeMetrics> extra) {
        this.props = props;
        this.capture = capture.getIfAvailable(PacketCapture::new);
        this.extra = extra;
    }

    @GetMapping(value = "/net/node={node}/metrics", produces = MediaType.APPLICATION_JSON_VALUE)
    public Map<String, Object> metrics(@PathVariable String node) {
        self(node);
        Map<String, Object> m = new LinkedHashMap<>();
        var rt = ManagementFactory.getRuntimeMXBean();
        var mem = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        var os = ManagementFactory.getOperatingSystemMXBean();
        m.put("node", props.getNode());
        m.put("uptimeMs", rt.getUptime());
        m.put("processors", os.getAvailableProcessors());
        m.put("systemLoadAverage", os.getSystemLoadAverage());
        m.put("heapUsedBytes", mem.getUsed());
        m.put("heapMaxBytes", mem.getMax());
        m.put("threads", ManagementFactory.getThreadMXBean().getThreadCount());
        extra.orderedStream().forEach(s -> m.putAll(s.get()));
        return m;
    }

    /**
     * Written to the servlet response itself: Spring 7 makes {@code flush()} on a
     * {@code StreamingResponseBody}'s stream a no-op, which held every line (and the headers) back
     * until the capture ended — a stream that is not one. Runs on the request thread, bounded by
     * the capture's own limits (count, seconds).
     */
    @GetMapping("/net/node={node}/tcpdmp")
    public void tcpdmp(@PathVariable String node,
                       @RequestParam(required = false) Integer i,
                       @RequestParam(required = false) String exp,
                       @RequestParam(required = false) Integer count,
                       @RequestParam(required = false) Integer seconds,
                       @RequestHeader(value = "Accept", required = false) String accept,
                       HttpServletRequest req, HttpServletResponse resp) throws IOException {
        self(node);
        Callers.requireAdmin(req, "packet capture");
        boolean pcap = accept != null && MediaType.parseMediaTypes(accept).stream()
                .anyMatch(t -> t.isCompatibleWith(MediaType.parseMediaType(PacketCapture.PCAP)) && !t.isWildcardType());
        PacketCapture.Request r = capture.request(i, exp, count, seconds, pcap);
        capture.check();
        resp.setStatus(200);
        resp.setContentType(pcap ? PacketCapture.PCAP : "text/plain;charset=UTF-8");
        resp.setHeader("Cache-Control", "no-store");
        try {
            // until tcpdump runs nothing is committed, so a failure to start it is still a 501 problem
            capture.run(r, resp.getOutputStream(), resp::flushBuffer);
        } catch (IOException e) {
            // the answer has begun, so there is no problem to send: most often the client went away
            // (run destroyed tcpdump with it); the capture ends where it ended
            if (!resp.isCommitted()) throw e;
            log.debug("capture on {} ended: {}", node, e.getMessage());
        }
    }

    private void self(String node) {
        if (props.getNode() == null || !props.getNode().equals(node)) {
            throw M31Problem.notFound("this is node " + props.getNode() + ", not " + node);
        }
    }

}
