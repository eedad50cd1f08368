{{/*
ConfigSync named templates. Every template takes a context with .Values (this chart's values) and
.Release; from another chart that depends on this one, pass its section:
  {{ include "config-sync.initContainers" (dict "Values" (index .Values "config-sync") "Release" .Release) }}
*/}}

{{/* The chart's name (its alias, when an app chart depends on it twice under two aliases), or nameOverride. */}}
{{- define "config-sync.name" -}}
{{- default (.Chart | default (dict "Name" "config-sync")).Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "config-sync.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "config-sync.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The image's default tag: the chart's appVersion. Another chart using the named templates passes this
chart's metadata: (dict "Values" ... "Chart" (index .Subcharts "config-sync").Chart ...), or sets image.tag. */}}
{{- define "config-sync.appVersion" -}}
{{- if .Chart }}{{ .Chart.AppVersion }}{{ else }}{{ fail "config-sync: set image.tag, or pass this chart's metadata to the named templates: \"Chart\" (index .Subcharts \"config-sync\").Chart (see the chart's README)" }}{{ end -}}
{{- end -}}

{{- define "config-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "config-sync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The publisher's pods: a name of their own, so that neither the demo's Deployment nor its Service selects them. */}}
{{- define "config-sync.publisherSelectorLabels" -}}
app.kubernetes.io/name: {{ include "config-sync.name" . | trunc 53 | trimSuffix "-" }}-publisher
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "config-sync.labels" -}}
{{ include "config-sync.selectorLabels" . }}
app.kubernetes.io/version: {{ include "config-sync.appVersion" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | default "Helm" }}
{{- if .Chart }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}
{{- end -}}

{{- define "config-sync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "config-sync.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The label that marks a pod as running this ConfigSync: the PodMonitor selects it. */}}
{{- define "config-sync.instanceLabel" -}}
configsync.io/instance: {{ include "config-sync.fullname" . }}
{{- end -}}

{{/* Pod labels: the instance label (the PodMonitor's selector), AKS workload identity's, and podLabels. */}}
{{- define "config-sync.podLabels" -}}
{{ include "config-sync.instanceLabel" . }}
{{- if .Values.azureWorkloadIdentity.enabled }}
azure.workload.identity/use: "true"
{{- end }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations: one that rolls the pods when the configuration changes, and podAnnotations. */}}
{{- define "config-sync.podAnnotations" -}}
checksum/config-sync: {{ toYaml .Values.config | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The annotations of the pod's ServiceAccount that give ConfigSync its cloud identity (IRSA's role, AKS workload
identity's client id) and serviceAccount.annotations; empty when there are none. For an app chart's own ServiceAccount:
  {{- with include "config-sync.serviceAccountAnnotations" $ctx }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }} */}}
{{- define "config-sync.serviceAccountAnnotations" -}}
{{- $annotations := deepCopy (.Values.serviceAccount.annotations | default dict) }}
{{- if .Values.aws.roleArn }}
{{- $_ := set $annotations "eks.amazonaws.com/role-arn" .Values.aws.roleArn }}
{{- end }}
{{- if .Values.azureWorkloadIdentity.enabled }}
{{- $_ := set $annotations "azure.workload.identity/client-id" .Values.azureWorkloadIdentity.clientId }}
{{- end }}
{{- with $annotations }}{{ toYaml . }}{{ end }}
{{- end -}}

{{/* The image reference: repository, then the tag (image.tag or the chart's appVersion), then @digest when image.digest
is set (the digest then decides what runs; the tag stays for people reading it). */}}
{{- define "config-sync.image" -}}
{{- $tag := .Values.image.tag | default (include "config-sync.appVersion" .) -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/* The ConfigSync container for the chosen mode (a map, not a list item). */}}
{{- define "config-sync.container" -}}
name: config-sync
image: {{ include "config-sync.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
{{- if eq .Values.mode "init" }}
args: ["once", "--config", "/etc/configsync/config.yaml", "--no-signal"]
{{- else }}
args: ["run", "--config", "/etc/configsync/config.yaml"]
{{- end }}
{{- if eq .Values.mode "native" }}
# A native sidecar: started before the app, kept running, stopped after it; never blocks a Job.
restartPolicy: Always
{{- end }}
{{- with .Values.env }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.envFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if ne .Values.mode "init" }}
ports:
  - name: configsync
    containerPort: {{ .Values.port }}
    protocol: TCP
{{- end }}
{{- if eq .Values.mode "native" }}
# The kubelet starts the app containers only once this succeeds: after the first sync is live.
startupProbe:
  httpGet: { path: /readyz, port: configsync }
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
  {{- with .Values.probes.startup.timeoutSeconds }}
  timeoutSeconds: {{ . }}
  {{- end }}
{{- end }}
{{- if ne .Values.mode "init" }}
{{- /* Readiness: by default only in sidecar mode. A native sidecar's readiness decides the whole pod's: with
       it, one source outage past maxStaleness, or a restarting sidecar, takes every replica out of service. */}}
{{- $readiness := .Values.probes.readiness.enabled }}
{{- if kindIs "invalid" $readiness }}{{ $readiness = eq .Values.mode "sidecar" }}{{ end }}
{{- if $readiness }}
readinessProbe:
  httpGet: { path: /readyz, port: configsync }
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
  {{- with .Values.probes.readiness.timeoutSeconds }}
  timeoutSeconds: {{ . }}
  {{- end }}
{{- end }}
livenessProbe:
  httpGet: { path: /healthz, port: configsync }
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
  {{- with .Values.probes.liveness.timeoutSeconds }}
  timeoutSeconds: {{ . }}
  {{- end }}
{{- end }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: {{ .Values.volume.name }}
    mountPath: {{ .Values.volume.mountPath }}
  - name: config-sync-config
    mountPath: /etc/configsync
    readOnly: true
  - name: config-sync-tmp
    mountPath: /tmp
  - name: config-sync-state
    mountPath: /var/lib/configsync
  {{- range $i, $secret := .Values.secrets }}
  - name: config-sync-secret-{{ $i }}
    mountPath: {{ $secret.mountPath }}
    readOnly: true
  {{- end }}
  {{- with .Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* List items for a pod's initContainers: ConfigSync in native or init mode, nothing in sidecar mode. */}}
{{- define "config-sync.initContainers" -}}
{{- if and (eq .Values.mode "native") .Capabilities }}
{{- if semverCompare (ternary "<1.28.0-0" "<1.29.0-0" (.Values.nativeSidecarFeatureGate | default false)) .Capabilities.KubeVersion.Version }}
{{- fail (printf "config-sync: mode native needs native sidecars (an init container with restartPolicy: Always), which Kubernetes has from 1.29 (1.28 with the SidecarContainers feature gate on); this cluster is %s. Use mode: sidecar (or init), or, on 1.28 with the gate on, set nativeSidecarFeatureGate: true" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- end }}
{{- if ne .Values.mode "sidecar" }}
- {{ include "config-sync.container" . | nindent 2 | trim }}
{{- end }}
{{- end -}}

{{/* List items for a pod's containers: ConfigSync in sidecar mode, nothing otherwise. */}}
{{- define "config-sync.containers" -}}
{{- if eq .Values.mode "sidecar" }}
- {{ include "config-sync.container" . | nindent 2 | trim }}
{{- end }}
{{- end -}}

{{/* The ConfigSync container as one list item, whatever the mode: put it in containers for
sidecar mode, in initContainers for native and init modes. */}}
{{- define "config-sync.sidecar" -}}
- {{ include "config-sync.container" . | nindent 2 | trim }}
{{- end -}}

{{/* An emptyDir volume source from a map with optional medium and sizeLimit; {} when both are empty (a bare
"emptyDir:" would be null, a volume without a source). */}}
{{- define "config-sync.emptyDir" -}}
{{- $source := dict }}
{{- if .medium }}{{ $_ := set $source "medium" .medium }}{{ end }}
{{- if .sizeLimit }}{{ $_ := set $source "sizeLimit" .sizeLimit }}{{ end -}}
emptyDir: {{ toJson $source }}
{{- end -}}

{{/* List items for a pod's volumes: the shared volume, the configuration, /tmp, the private state (stateDir: credentials and
source caches, never on the shared volume the app reads), the Secrets, extraVolumes. */}}
{{- define "config-sync.volumes" -}}
- name: {{ .Values.volume.name }}
  {{- include "config-sync.emptyDir" .Values.volume | nindent 2 }}
- name: config-sync-config
  configMap:
    name: {{ include "config-sync.fullname" . }}
- name: config-sync-tmp
  emptyDir:
    sizeLimit: 16Mi
- name: config-sync-state
  {{- include "config-sync.emptyDir" .Values.stateVolume | nindent 2 }}
{{- range $i, $secret := .Values.secrets }}
- name: config-sync-secret-{{ $i }}
  secret:
    secretName: {{ $secret.name }}
    defaultMode: 0400
    {{- with $secret.items }}
    items:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The shared volume mounted read-only in an app container, at the given path. Never subPath. */}}
{{- define "config-sync.appVolumeMount" -}}
- name: {{ .Values.volume.name }}
  mountPath: {{ .mountPath | default "/etc/app" }}
  readOnly: true
{{- end -}}
