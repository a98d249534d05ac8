package dev.andromeda.local;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * One constellation per state directory, as PostgreSQL's {@code postmaster.pid} and Kafka's
 * {@code .lock} keep one server per data directory: an OS lock on {@code <home>/lock}, held until
 * the constellation has stopped its engines (or the process is gone — the OS drops it then).
 * Without it, an {@code ./m31 up} started while the last one was still shutting down wrote into
 * the Kafka metadata log the old broker was still using, and the old one spun on it for minutes.
 */
public final class HomeLock implements AutoCloseable {

    /** Another process holds the directory. */
    public static final class InUse extends IllegalStateException {
        InUse(String message) { super(message); }
    }

    private final FileChannel channel;
    private final FileLock lock;

    private HomeLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the directory, or throws {@link InUse} naming who has it. */
    public static HomeLock acquire(Path home) throws IOException {
        Files.createDirectories(home);
        Path file = home.resolve("lock");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null; // this very process holds it (a constellation not yet closed)
        }
        if (lock == null) {
            String holder;
            try {
                holder = Files.readString(file, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                holder = "";
            }
            ch.close();
            throw new InUse(home + " is in use by another constellation" + (holder.isEmpty() ? "" : " (" + holder + ")")
                    + ", still running or still stopping; stop it first, or give this one another --home");
        }
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + ", since " + Instant.now()).getBytes(StandardCharsets.UTF_8)));
        ch.force(false);
        return new HomeLock(ch, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
