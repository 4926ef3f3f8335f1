import type { DefinitionKind } from './definition.js';

/** Networks in the forms libvirt documents (formatnetwork.html): bridged, NAT, routed, isolated, with DHCP, DNS, port groups. */
const NETWORKS = [
  `<network><name>n-bridge</name><forward mode='bridge'/><bridge name='br-fz0'/></network>`,
  `<network>
  <name>n-nat</name>
  <uuid>3e3fce45-4f53-4fa7-bb32-11f34168b82b</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr-fz1' stp='on' delay='0'/>
  <mac address='52:54:00:0a:cd:21'/>
  <mtu size='9000'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
      <host mac='00:16:3e:77:e2:ed' name='foo.example.com' ip='192.168.122.10'/>
    </dhcp>
  </ip>
</network>`,
  `<network>
  <name>n-routed</name>
  <forward mode='route' dev='eth1'/>
  <bridge name='virbr-fz2'/>
  <domain name='example.com' localOnly='yes'/>
  <dns><txt name='example' value='example value'/><host ip='192.168.122.2'><hostname>myhost</hostname></host></dns>
  <ip address='192.168.122.1' netmask='255.255.255.0'/>
  <ip family='ipv6' address='2001:db8:ca2:2::1' prefix='64'/>
  <route address='192.168.222.0' prefix='24' gateway='192.168.122.2'/>
</network>`,
  `<network><name>n-isolated</name><bridge name='virbr-fz3'/><ip address='10.1.2.1' prefix='24'/></network>`,
  `<network>
  <name>n-ports</name>
  <forward mode='bridge'/>
  <bridge name='br-fz4'/>
  <portgroup name='engineering' default='yes'><bandwidth><inbound average='1000' peak='5000' burst='5120'/></bandwidth></portgroup>
  <portgroup name='sales'><vlan><tag id='49'/></vlan></portgroup>
</network>`,
];

/** Pools in the forms libvirt documents (formatstorage.html): dir, fs, netfs, logical, iscsi, rbd. */
const POOLS = [
  `<pool type='dir'><name>p-dir</name><target><path>/var/lib/ferry-fuzz/p-dir</path><permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions></target></pool>`,
  `<pool type='fs'><name>p-fs</name><source><device path='/dev/fuzz-nonexistent'/><format type='ext4'/></source><target><path>/var/lib/ferry-fuzz/p-fs</path></target></pool>`,
  `<pool type='netfs'>
  <name>p-netfs</name>
  <uuid>7a5f2d16-e4a7-4b4e-9a5d-3c6b1b1ea5b0</uuid>
  <capacity unit='bytes'>0</capacity>
  <source><host name='nfs.example.com'/><dir path='/exports/vms'/><format type='nfs'/></source>
  <target><path>/var/lib/ferry-fuzz/p-netfs</path></target>
</pool>`,
  `<pool type='logical'><name>p-vg</name><source><device path='/dev/sdz1'/><name>vgfuzz</name><format type='lvm2'/></source><target><path>/dev/vgfuzz</path></target></pool>`,
  `<pool type='iscsi'><name>p-iscsi</name><source><host name='iscsi.example.com' port='3260'/><device path='iqn.2013-06.com.example:iscsi-pool'/><initiator><iqn name='iqn.2013-06.com.example:iscsi-initiator'/></initiator></source><target><path>/dev/disk/by-path</path></target></pool>`,
  `<pool type='rbd'><name>p-rbd</name><source><name>rbdpool</name><host name='1.2.3.4' port='6789'/><auth username='admin' type='ceph'><secret uuid='2ec115d7-3a88-3ceb-bc12-0ac909a6fd87'/></auth></source></pool>`,
];

export function networkKind(): DefinitionKind {
  return {
    surface: 'network-xml',
    definePath: '/v1/networks',
    replyKey: 'network',
    xmlPath: (uuid) => `/v1/networks/${uuid}/xml`,
    undefinePath: (uuid) => `/v1/networks/${uuid}`,
    seeds: NETWORKS.map((xml, i) => ({ name: `network #${i}`, xml })),
  };
}

export function poolKind(): DefinitionKind {
  return {
    surface: 'pool-xml',
    definePath: '/v1/pools',
    replyKey: 'pool',
    xmlPath: (uuid) => `/v1/pools/${uuid}/xml`,
    undefinePath: (uuid) => `/v1/pools/${uuid}`,
    seeds: POOLS.map((xml, i) => ({ name: `pool #${i}`, xml })),
  };
}
