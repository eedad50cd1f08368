{{- define "config-sync.fullname" -}}
{{- printf "%s-config-sync" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ConfigSync container, to include in an app's pod spec. */}}
{{- define "config-sync.sidecar" -}}
- name: config-sync
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["run", "--config", "/etc/configsync/config.yaml"]
  ports:
    - name: configsync
      containerPort: 8081
  readinessProbe:
    httpGet: { path: /readyz, port: configsync }
  livenessProbe:
    httpGet: { path: /healthz, port: configsync }
  securityContext:
    runAsNonRoot: true
    runAsUser: 1654
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities: { drop: ["ALL"] }
  volumeMounts:
    - { name: config-sync-data, mountPath: {{ .Values.volumeMountPath }} }
    - { name: config-sync-config, mountPath: /etc/configsync, readOnly: true }
{{- end -}}
