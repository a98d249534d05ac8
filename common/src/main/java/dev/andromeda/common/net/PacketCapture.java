package dev.andromeda.common.net;

import dev.andromeda.common.problem.M31Problem;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real, bounded packet capture with tcpdump: started directly (argv, never a shell), on one
 * interface, with a {@link BpfExpression} re-printed from its tokens, stopped after a number of
 * packets ({@code -c}) or seconds (the process is destroyed), whichever comes first. Text lines
 * ({@code -l -n}) or a pcap stream ({@code -U -w -}). Where tcpdump is not installed the capture
 * is a 501 problem ({@link #check}).
 */
public class PacketCapture {

    public static final String PCAP = "application/vnd.tcpdump.pcap";

    /** Pushes what was written so far to the client. */
    @FunctionalInterface
    public interface Flush {
        void flush() throws IOException;
    }

    /** One capture: interface position, filter, bounds, and whether to write pcap. */
    public record Request(int iface, BpfExpression filter, int count, int seconds, boolean pcap) {}

    private final String tcpdump;
    private final int maxCount;
    private final int maxSeconds;

    /**
     * @param tcpdump    an absolute path, or a bare name looked up in PATH ("tcpdump")
     * @param maxCount   upper bound on {@code count}
     * @param maxSeconds upper bound on {@code seconds}
     */
    public PacketCapture(String tcpdump, int maxCount, int maxSeconds) {
        this.tcpdump = tcpdump;
        this.maxCount = maxCount;
        this.maxSeconds = maxSeconds;
    }

    public PacketCapture() { this("tcpdump", 10_000, 60); }

    /** The tcpdump executable, or null when this node cannot capture. */
    public Path executable() {
        if (tcpdump.contains("/")) {
            Path p = Path.of(tcpdump);
            return Files.isRegularFile(p) && Files.isExecutable(p) ? p : null;
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        List<String> dirs = new ArrayList<>(List.of(path.split(File.pathSeparator)));
        for (String extra : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin")) if (!dirs.contains(extra)) dirs.add(extra);
        for (String dir : dirs) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, tcpdump);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p;
        }
        return null;
    }

    public boolean available() { return executable() != null; }

    /** The node's interfaces in OS index order: position {@code i} of /tcpdmp?i= names one. */
    public static List<NetworkInterface> interfaces() {
        try {
            List<NetworkInterface> all = new ArrayList<>(NetworkInterface.networkInterfaces().toList());
            all.sort(Comparator.comparingInt(NetworkInterface::getIndex));
            return all;
        } catch (SocketException e) {
            return List.of();
        }
    }

    /** Validates a request from query parameters; 400 problems name the parameter. */
    public Request request(Integer i, String exp, Integer count, Integer seconds, boolean pcap) {
        int iface = i == null ? 0 : i;
        List<NetworkInterface> all = interfaces();
        if (iface < 0 || iface >= all.size()) {
            throw M31Problem.badRequest("i", "interface " + iface + " does not exist here (0.." + (all.size() - 1) + ")");
        }
        int c = count == null ? Math.min(100, maxCount) : count;
        if (c < 1 || c > maxCount) throw M31Problem.badRequest("count", "count is 1.." + maxCount);
        int s = seconds == null ? Math.min(10, maxSeconds) : seconds;
        if (s < 1 || s > maxSeconds) throw M31Problem.badRequest("seconds", "seconds is 1.." + maxSeconds);
        return new Request(iface, BpfExpression.parse(exp, "exp"), c, s, pcap);
    }

    /** The 501 problem when this node cannot capture; nothing when it can. */
    public void check() {
        if (!available()) {
            throw new M31Problem(501, "capture-unavailable", "this node cannot capture packets: "
                    + (tcpdump.contains("/") ? tcpdump : "tcpdump") + " is not installed", null);
        }
    }

    /** The argv: tcpdump, options, "--", the canonical filter (one argument). */
    public List<String> command(Request r) {
        Path exe = executable();
        List<String> cmd = new ArrayList<>(List.of(exe == null ? tcpdump : exe.toString(),
                "-i", interfaces().get(r.iface()).getName(), "-n", "-c", Integer.toString(r.count())));
        if (r.pcap()) cmd.addAll(List.of("-U", "-w", "-"));
        else cmd.addAll(List.of("-l", "-tttt"));
        if (!r.filter().canonical().isEmpty()) {
            cmd.add("--");
            cmd.add(r.filter().canonical());
        }
        return cmd;
    }

    /**
     * Runs the capture, copying what tcpdump writes to {@code out} as it comes, until it has seen
     * {@code count} packets or {@code seconds} have passed. Returns tcpdump's exit code (or -1
     * when it was stopped by the time limit). The answer starts (status and headers) as soon as
     * tcpdump runs, not at its first packet: a quiet filter is a capture still listening, not a
     * request that hangs. {@code flush} pushes what was written (and, the first time, the headers)
     * to the client: a servlet response's {@code flushBuffer}.
     */
    public int run(Request r, OutputStream out, Flush flush) throws IOException {
        check();
        ProcessBuilder pb = new ProcessBuilder(command(r)).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new M31Problem(501, "capture-unavailable", "this node cannot capture packets: " + e.getMessage(), null);
        }
        AtomicBoolean timeUp = new AtomicBoolean();
        Thread stopper = Thread.ofVirtual().start(() -> {
            try {
                if (!p.waitFor(r.seconds(), TimeUnit.SECONDS)) {
                    timeUp.set(true);
                    p.destroy();
                }
                if (!p.waitFor(2, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        });
        try (InputStream in = p.getInputStream()) {
            flush.flush();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                if (!r.pcap()) flush.flush();
            }
        } catch (IOException e) {
            // destroying tcpdump closes its output under the read: that is the time limit ending
            // the capture, the usual way one ends, and the answer is what it captured until then
            if (!timeUp.get()) throw e;
        } finally {
            p.destroyForcibly();
            stopper.interrupt();
        }
        flush.flush();
        try {
            return p.waitFor(5, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
