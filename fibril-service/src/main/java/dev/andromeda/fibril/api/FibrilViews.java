package dev.andromeda.fibril.api;

import dev.andromeda.api.model.Endpoint;
import dev.andromeda.fibril.nucleus.Fibril;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** A fibril as the API shows it. */
final class FibrilViews {

    private FibrilViews() {}

    static dev.andromeda.api.model.Fibril view(Fibril f, String node) {
        Fibril.State s = f.state();
        dev.andromeda.api.model.Fibril v = new dev.andromeda.api.model.Fibril()
                .id(f.id())
                .uri("/fibrils/" + f.id())
                .node(node)
                .state(state(s))
                .parent(f.parent())
                .fingerprint(f.program().fingerprint())
                .created(time(f.created()))
                .wallClock(f.wallClockLimit().toSeconds())
                .generation(f.generation())
                .anchored(f.anchored())
                .cloneOf(f.cloneOf());
        if (f.caller() != null) v.owner(f.caller().subject());
        if (f.toChild() != null) v.send(new Endpoint().$ch("/ch/" + f.toChild()).end(Endpoint.EndEnum.SEND));
        if (f.fromChild() != null) v.recv(new Endpoint().$ch("/ch/" + f.fromChild()).end(Endpoint.EndEnum.RECV));
        if (s.ended()) {
            v.result(f.result());
            v.error(f.error());
            v.ended(time(f.ended()));
        }
        return v;
    }

    private static dev.andromeda.api.model.Fibril.StateEnum state(Fibril.State s) {
        return switch (s) {
            case RUNNABLE -> dev.andromeda.api.model.Fibril.StateEnum.RUNNABLE;
            case RUNNING, ENDING, MOVING -> dev.andromeda.api.model.Fibril.StateEnum.RUNNING;
            case MOVED -> dev.andromeda.api.model.Fibril.StateEnum.RUNNING;
            case PARKED -> dev.andromeda.api.model.Fibril.StateEnum.PARKED;
            case DONE -> dev.andromeda.api.model.Fibril.StateEnum.DONE;
            case FAILED -> dev.andromeda.api.model.Fibril.StateEnum.FAILED;
            case KILLED -> dev.andromeda.api.model.Fibril.StateEnum.KILLED;
        };
    }

    private static OffsetDateTime time(Instant i) {
        return i == null ? null : i.atOffset(ZoneOffset.UTC);
    }
}
