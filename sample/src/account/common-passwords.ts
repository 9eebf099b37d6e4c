/**
 * About a thousand of the passwords people choose most often (from public breach-frequency lists, written from
 * memory: no network at build time), lower case. {@link isCommonPassword} also refuses them with digits or symbols added at either end,
 * and in the common "leet" spellings, so a twelve-character rule is not met by `password1234`.
 *
 * The list is in the source (not a data file) so the compiled sample needs no file copying, as with the pages'
 * assets. An application with more at stake would check a much larger list, or the k-anonymity range API of a
 * breach corpus.
 */
const LIST = String.raw`
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123 football monkey
letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777
121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew
tigger sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel starwars klaster 112233 george computer
michelle jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess
joshua cheese amanda summer love ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin thunder
taylor matrix mobilemail mom monitor monitoring montana moon moscow william corvette hello martin heather secret
merlin diamond 1234qwer gfhjkm hammer silver 222222 88888888 anthony justin test bailey q1w2e3r4t5 patrick internet
scooter orange 11111 golfer cookie richard samantha bigdog guitar jackson whatever mickey chicken sparky snoopy maverick
phoenix camaro peanut morgan welcome falcon cowboy ferrari samsung andrea smokey steelers joseph mercedes dakota arsenal
eagles melissa boomer booboo spider nascar monster tigers yellow xxxxxx 123123123 gateway marina diablo bulldog qwer1234
compaq purple hardcore banana junior hannah 123654 porsche lakers iceman money cowboys 987654 london tennis 999999
ncc1701 coffee scooby 0000 miller boston q1w2e3r4 brandon yamaha chester mother forever johnny edward 333333 oliver
redsox player nikita knight fender barney midnight please brandy chicago badboy slayer rangers charles angel flower
bigdaddy rabbit wizard jasper enter rachel chris steven winner adidas victoria natasha 1q2w3e4r jasmine winter prince
panties marine ghbdtn fishing cocacola casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal 87654321
12344321 golden 8675309 panther lauren angela thx1138 angels madison winston shannon mike toyota jordan23 canada
sophie apples tiger bond007 liverpool qwerty123 qwertyui password1 password12 password123 password1234 passw0rd
p@ssw0rd p@ssword pa55word pa$$word letmein123 welcome1 welcome123 admin admin123 administrator root toor changeme
changeme123 default guest login qwerty1 qwerty12 1q2w3e 1q2w3e4r5t 1q2w3e4r5t6y zaq12wsx zaq1zaq1 1qaz2wsx3edc
qazwsxedc qazwsxedcrfv qweasdzxc asdfghjkl asdfghjkl123 zxcvbnm123 qwertyuiop123 1234567890qwerty 0987654321
abcd1234 abc12345 abcdef abcdefg abcdefgh abcdefghijkl aa123456 a123456 a1b2c3 a1b2c3d4 iloveyou1 iloveyou123
iloveyou2 princess1 sunshine1 football1 baseball1 monkey123 dragon123 superman123 batman123 michael1 charlie1 shadow1
master123 hello123 hellohello helloworld hello1234 trustno1234 starwars123 pokemon pokemon123 minecraft minecraft123
fortnite roblox roblox123 naruto onepiece blink182 myspace1 myspace facebook facebook123 google google123 youtube
twitter instagram linkedin yahoo hotmail gmail outlook apple apple123 iphone samsung123 microsoft windows windows10
linux ubuntu oracle mysql postgres database server server123 qwerty1234 qwerty12345 qwerty123456 1234512345 123456123456
111222333 123412341234 1234567891 12345678910 123456789a 123456789q 12345qwert 1234abcd 123abc 123qweasd 123qweasdzxc
1qazxsw2 qwe123 qwe123qwe qweqwe qweqweqwe asd123 asdasd asdasdasd zxc123 zxczxc 147258369 147258 741852963 963852741
159357 159753456 192837465 246810 135790 102030 010203 112233445566 121314 131415 141414 151515 161616 171717 181818
191919 202020 212121 242424 252525 272727 292929 303030 313131 696969696969 777777777 7777777777 999999999 9999999999
00000000 000000000 0000000000 11111111111 111111111111 1111111111 222222222 5555555555 6666666666 8888888888 1212121212
123123123123 12341234 11223344 1122334455 123321123 1231231234 2580 25802580 147852 147852369 852456 456789 456123
789456 789456123 987654321012 jesus jesus123 jesus1 christ god godisgood blessed blessed1 faith grace heaven angel1
love123 lovely loveme lover lovers loveyou iloveu ilovegod ihateyou fuckyou fuckoff fuck shit bitch asshole sexy sex
sexy123 hottie babygirl baby babe princesa daniela alejandro carlos roberto mariana bonjour soleil motdepasse azerty
azertyuiop passwort hallo schatz qwertz 1qay2wsx ficken parola contrasena contraseña senha amor teamo teiubesc
zaq123 password01 password2 password3 password7 password9 password99 password2020 password2021 password2022 password2023
password2024 password2025 password2026 passwordpassword mypassword mypassword1 thepassword newpassword newpassword1
secret123 secretpassword topsecret letmein1 letmeinnow opensesame access14 accessdenied trustme whatever1 nothing
nopassword nopass pass123 pass1234 pass12345 passpass password! password@ password# pasword passwrd passcode
summer2020 summer2021 summer2022 summer2023 summer2024 summer2025 winter2020 winter2021 winter2022 winter2023 winter2024
winter2025 spring2023 spring2024 spring2025 autumn2024 fall2024 january february march april may june july august
september october november december monday tuesday friday sunday weekend holiday christmas christmas1 easter halloween
football123 soccer123 baseball123 hockey123 basketball basketball1 volleyball softball tennis123 golf golfing cricket
rugby chelsea1 arsenal1 liverpool1 manchester manutd barcelona realmadrid juventus ronaldo messi ronaldo7 cr7 neymar
yankees1 lakers24 kobe24 jordan123 michaeljordan dallascowboys steelers1 packers eagles1 patriots raiders1 broncos
superstar rockstar rockyou rocky rocky1 champion champion1 winner1 warrior warriors spiderman ironman hulk thor
captain avengers marvel starwars1 darthvader skywalker jedi yoda chewbacca startrek enterprise gandalf1 frodo hobbit
matrix1 neo morpheus trinity zelda mario luigi sonic pikachu charizard metallica nirvana slipknot eminem tupac
beatles elvis madonna britney justinbieber onedirection harrypotter hermione hogwarts voldemort dumbledore
chocolate chocolate1 cookies cupcake candy sugar honey honey123 sweety sweetie sweetheart cutie cutiepie kitty kitten
kitty123 puppy puppies doggy doggie dog cat cats dogs fluffy buddy buddy1 max max123 lucky lucky1 lucky7 bella
charlie123 daisy molly coco oscar rocky123 teddy teddybear bear bears tiger123 lion lions eagle falcon1 dolphin
dolphins shark butterfly flower1 flowers rose roses sunflower rainbow rainbow1 unicorn dragon1 dragons monkey1
bubbles pepper1 ginger1 cookie1 muffin peaches peanut1 pumpkin cherry strawberry blueberry banana1 orange1 lemon
mango apple1 pineapple coconut vanilla caramel coffee1 beer vodka whiskey tequila pizza pizza123 hamburger
qwertyasdfgh qwertyuiopasdfghjkl asdfghjklqwertyuiop zxcvbnmasdfghjkl 1234567890987654321 9876543210 01234567890
correcthorsebatterystaple correcthorse batterystaple trustnoone ilovemymom ilovemyself iloveyouforever iloveyoubaby
letmeinplease pleaseletmein welcometo welcomehome mylittlepony myspace123 football12345 baseball12345 superman12345
administrator1 administrator123 adminadmin admin1234 admin12345 root123 rootroot toortoor changemenow changethis
passwordchange temporary temppass temp123 test123 test1234 testing testing123 tester demo demo123 sample sample123
user user123 username username1 login123 guest123 default123 welcome2024 welcome2025 welcome2026 company company123
ashley1 jessica1 michelle1 jennifer1 amanda1 nicole1 daniel1 andrew1 joshua1 matthew1 robert1 william1 thomas1 anthony1
justin1 brandon1 jordan1 taylor1 hannah1 samantha1 lauren1 rachel1 melissa1 heather1 stephanie stephanie1 elizabeth
elizabeth1 alexander alexander1 christopher christopher1 jonathan jonathan1 benjamin benjamin1 nicholas nicholas1
tyler tyler1 ryan ryan1 kevin kevin1 brian brian1 jason jason1 eric eric1 adam adam1 alex alex1 sarah sarah1 emily
emily1 megan megan1 kayla kayla1 alyssa brittany brittany1 danielle courtney chelsea123 abigail madison1 olivia
olivia1 sophia sophia1 isabella emma emma1 ava mia charlotte amelia harper evelyn liam noah noah1 ethan ethan1 mason
lucas logan logan1 jacob jacob1 aiden jackson1 elijah james1 david david1 john john1 richard1 joseph1 charles1
christian christian1 diego sebastian gabriel gabriel1 samuel samuel1 nathan nathan1 isaac zachary hunter1 dylan
qwerty789 qwerty111 qwerty007 qwerty2024 asdf1234 asdf123 asdfqwer zxcv1234 zxcvbn123 qazwsx123 qazxswedc 1qaz1qaz
2wsx3edc 3edc4rfv 4rfv5tgb 5tgb6yhn zaqxsw qwaszx q1w2e3 q1q1q1 a1a1a1 z1z2z3 1a2b3c 1q1q1q 123qaz qwertyqwerty
asdasd123 asdasd1234 qwe12345 qwe1234 qweasd qweasd123 qweasdzxc123 poiuytrewq mnbvcxz lkjhgfdsa 0987654321qwerty
passwordqwerty qwertypassword adminpassword password000 password111 password321 password007 password69 password88
iloveyou2024 iloveyou2025 loveyou123 lovelove love1234 iloveyou12 ilovemusic ilovecats ilovedogs ilovepizza
sunshine123 princess123 monkey1234 shadow123 shadow1234 master1234 dragon1234 football12 baseball12 soccer12
killer123 hunter2 hunter123 trustno12 letmein12 welcome12 qwerty321 michael123 jordan1234 superman1 batman1 spiderman1
starwars12 pokemon1 charizard1 pikachu1 naruto123 goku vegeta dragonball onepiece1 minecraft1 fortnite1 valorant
leagueoflegends overwatch counterstrike callofduty warcraft worldofwarcraft runescape playstation xbox360 nintendo
gameover gamer gaming123 player1 ninja ninja123 samurai shadow12 hacker hacker123 h4x0r l33t elite 1337 31337
`;

const COMMON = new Set(LIST.split(/\s+/).filter((word) => word.length > 0));

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

/**
 * True when `password` is on the list, ignoring case, leading and trailing digits and symbols, and leet spellings
 * (`P@ssw0rd2024!` is `password`).
 *
 * @example isCommonPassword('Password1234') // true
 */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return true;
  const core = lower.replace(/^[^a-z]+|[^a-z]+$/g, '');
  if (core.length > 0 && COMMON.has(core)) return true;
  const unleet = lower.replace(/[013457@$!]/g, (c) => LEET[c]);
  if (COMMON.has(unleet)) return true;
  const unleetCore = lower
    .replace(/[^a-z0-9@$!]+$/g, '')
    .replace(/[0-9]+$/g, '')
    .replace(/[013457@$!]/g, (c) => LEET[c]);
  return unleetCore.length > 0 && COMMON.has(unleetCore);
}

/** How many passwords the list holds (for the docs and a test). */
export const COMMON_PASSWORD_COUNT = COMMON.size;
