package dev.andromeda.gateway.problem;

/**
 * A failure the gateway itself answers with: status, a stable type slug (served as
 * {@code /problems/<type>}, as the services do) and a detail safe to show the client.
 */
public class GatewayProblem extends RuntimeException {

    private final int status;
    private final String type;

    public GatewayProblem(int status, String type, String detail) {
        super(detail, null, false, false);
        this.status = status;
        this.type = type;
    }

    public int status() { return status; }
    public String type() { return type; }

    public static GatewayProblem unreachable(String service) {
        return new GatewayProblem(503, "unavailable", service + " unreachable");
    }
}
