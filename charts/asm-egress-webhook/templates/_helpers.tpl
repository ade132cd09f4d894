{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "asm-egress-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart, or the release name alone when it already contains the chart name. */}}
{{- define "asm-egress-webhook.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "asm-egress-webhook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "asm-egress-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "asm-egress-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "asm-egress-webhook.labels" -}}
helm.sh/chart: {{ include "asm-egress-webhook.chart" . }}
{{ include "asm-egress-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: admission-webhook
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "asm-egress-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "asm-egress-webhook.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding tls.crt, tls.key (and ca.crt) that the pods mount. */}}
{{- define "asm-egress-webhook.tlsSecretName" -}}
{{- if and (eq .Values.certificates.mode "secret") .Values.certificates.secret.name -}}
{{- .Values.certificates.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "asm-egress-webhook.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The object names the server in mode "self" is given, and its RBAC grants. */}}
{{- define "asm-egress-webhook.selfSecret" -}}
{{- printf "%s/%s" .Release.Namespace (include "asm-egress-webhook.tlsSecretName" .) -}}
{{- end -}}

{{/* Every DNS name the API server may use for the Service. */}}
{{- define "asm-egress-webhook.dnsNames" -}}
{{- $svc := include "asm-egress-webhook.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
{{- end -}}

{{- define "asm-egress-webhook.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Settings checked at render time, so that a bad value fails the install
instead of producing a webhook that blocks the wrong namespace.
*/}}
{{- define "asm-egress-webhook.validateValues" -}}
{{- $pns := required "policy.namespace is required" .Values.policy.namespace -}}
{{- if has $pns (list "kube-system" "kube-public" "kube-node-lease" "default") -}}
{{- fail (printf "policy.namespace %q is a system namespace; the webhooks must never intercept it" $pns) -}}
{{- end -}}
{{- if eq $pns .Release.Namespace -}}
{{- fail (printf "policy.namespace %q is the release namespace; install the webhook in a namespace of its own so it can never block itself" $pns) -}}
{{- end -}}
{{- if not (has .Values.policy.nameRule (list "egress-by" "literal")) -}}
{{- fail (printf "policy.nameRule must be egress-by or literal, not %q" .Values.policy.nameRule) -}}
{{- end -}}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail (printf "webhook.failurePolicy must be Fail or Ignore, not %q" .Values.webhook.failurePolicy) -}}
{{- end -}}
{{- $t := int .Values.webhook.timeoutSeconds -}}
{{- if or (lt $t 1) (gt $t 30) -}}
{{- fail (printf "webhook.timeoutSeconds must be 1-30, not %d" $t) -}}
{{- end -}}
{{- if not (has .Values.certificates.mode (list "builtin" "certManager" "secret" "self")) -}}
{{- fail (printf "certificates.mode must be builtin, certManager, secret or self, not %q" .Values.certificates.mode) -}}
{{- end -}}
{{- if and (eq .Values.certificates.mode "self") (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) -}}
{{- fail "certificates.mode=self binds RBAC to the webhook's ServiceAccount: set serviceAccount.create=true or serviceAccount.name" -}}
{{- end -}}
{{- if and (eq .Values.certificates.mode "secret") (not .Values.certificates.secret.caBundle) -}}
{{- fail "certificates.mode=secret needs certificates.secret.caBundle (printed by certs/make-certs.sh)" -}}
{{- end -}}
{{- if and (eq .Values.certificates.mode "certManager") (not (.Capabilities.APIVersions.Has "cert-manager.io/v1")) -}}
{{- fail "certificates.mode=certManager, but this cluster does not serve cert-manager.io/v1: install cert-manager first, or use certificates.mode=builtin" -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}
{{- fail "serviceMonitor.enabled=true, but this cluster does not serve monitoring.coreos.com/v1 (the Prometheus Operator's ServiceMonitor)" -}}
{{- end -}}
{{- if not (has .Values.server.tlsMinVersion (list "VersionTLS12" "VersionTLS13")) -}}
{{- fail (printf "server.tlsMinVersion must be VersionTLS12 or VersionTLS13, not %q" .Values.server.tlsMinVersion) -}}
{{- end -}}
{{- $actions := include "asm-egress-webhook.validationActions" . -}}
{{- if not $actions -}}
{{- fail "policy.validationActions must list at least one of Deny, Warn, Audit" -}}
{{- end -}}
{{- $list := splitList "," $actions -}}
{{- range $list -}}
{{- if not (has . (list "Deny" "Warn" "Audit")) -}}
{{- fail (printf "policy.validationActions: %q is not one of Deny, Warn, Audit" .) -}}
{{- end -}}
{{- end -}}
{{- if ne (len $list) (len (uniq $list)) -}}
{{- fail (printf "policy.validationActions lists an action twice: %s" $actions) -}}
{{- end -}}
{{- if and (has "Deny" $list) (has "Warn" $list) -}}
{{- fail "policy.validationActions must not contain both Deny and Warn (the errors would be repeated in the denial and in its warnings); roll out with Warn or Audit, then Deny" -}}
{{- end -}}
{{- end -}}

{{/*
policy.validationActions as the server's flag takes it, "Warn,Audit": from
a list ([Warn, Audit]) or from a string (--set policy.validationActions=Warn).
*/}}
{{- define "asm-egress-webhook.validationActions" -}}
{{- $given := .Values.policy.validationActions -}}
{{- if kindIs "string" $given -}}
{{- $given = splitList "," $given -}}
{{- end -}}
{{- $actions := list -}}
{{- range $given -}}
{{- $actions = append $actions (trim (toString .)) -}}
{{- end -}}
{{- join "," $actions -}}
{{- end -}}

{{/*
One webhook entry; both configurations share everything but the path and
the mutating-only fields. Argument: dict "root" $ "kind" "mutate"|"validate" "caBundle" string.
*/}}
{{- define "asm-egress-webhook.webhook" -}}
{{- $root := .root -}}
- name: {{ .kind }}.asmegresstrafficpolicies.istio.alibabacloud.com
  admissionReviewVersions: ["v1", "v1beta1"]
  sideEffects: None
  failurePolicy: {{ $root.Values.webhook.failurePolicy }}
  timeoutSeconds: {{ int $root.Values.webhook.timeoutSeconds }}
  matchPolicy: Equivalent
  {{- if eq .kind "mutate" }}
  reinvocationPolicy: IfNeeded
  {{- end }}
  clientConfig:
    service:
      name: {{ include "asm-egress-webhook.fullname" $root }}
      namespace: {{ $root.Release.Namespace }}
      path: /{{ .kind }}
      port: {{ int $root.Values.service.port }}
    {{- if .caBundle }}
    caBundle: {{ .caBundle }}
    {{- end }}
  rules:
    - apiGroups: ["istio.alibabacloud.com"]
      apiVersions: ["v1beta1"]
      resources: ["asmegresstrafficpolicies"]
      operations: ["CREATE", "UPDATE"]
      scope: Namespaced
  # Only the policy namespace: the webhook can never block kube-system, its
  # own namespace, or anything else in the cluster.
  namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: In
        values: [{{ $root.Values.policy.namespace | quote }}]
{{- end -}}
