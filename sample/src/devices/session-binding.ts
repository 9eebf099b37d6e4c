import { SessionAnomalyDetector } from '../../../lib';
import type { SampleConfig } from '../config';
import { DEMO_IP_LOCATIONS } from './demo-ip-locations';

/**
 * The session binding and anomaly detection of `SESSION_BINDING` (`off`, `monitor`, `strict`) and
 * `SESSION_BINDING_ACTION` (`end`, `reauth`), with the library's defaults otherwise: IPv4 /24 and IPv6 /48 networks,
 * browser family and OS, churn, two networks at once, impossible travel over the demo location table, and
 * `authn_login_successafterfail` after five failed sign-ins.
 */
export function sessionBindingOf(config: SampleConfig): SessionAnomalyDetector {
  return new SessionAnomalyDetector({
    policy: config.session.binding,
    strictAction: config.session.bindingAction,
    impossibleTravel: { resolver: DEMO_IP_LOCATIONS },
  });
}
